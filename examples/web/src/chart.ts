/** Loss curves on a canvas: G's L1 and cGAN terms and D's loss, each scaled to its own range, smoothed. */
const SERIES = [
  { label: 'G/l1', colour: '#1f77b4', value: (m: Record<string, number>) => m['G/l1'] },
  { label: 'G/cgan', colour: '#d62728', value: (m: Record<string, number>) => m['G/cgan'] },
  { label: 'D', colour: '#2ca02c', value: (m: Record<string, number>) => sumOf(m, 'D/') },
];

const sumOf = (m: Record<string, number>, prefix: string): number | undefined => {
  const parts = Object.entries(m).filter(([k]) => k.startsWith(prefix));
  return parts.length === 0 ? undefined : parts.reduce((s, [, v]) => s + v, 0);
};

/** An exponential moving average, as training logs show losses. */
const smooth = (xs: readonly number[], alpha = 0.1): number[] => {
  let acc = xs[0] ?? 0;
  return xs.map((x) => (acc = alpha * x + (1 - alpha) * acc));
};

export const drawLosses = (canvas: HTMLCanvasElement, records: ReadonlyArray<Record<string, number>>): void => {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px sans-serif';
  SERIES.forEach((s, k) => {
    const ys = smooth(records.map((r) => s.value(r)).filter((v): v is number => v !== undefined && Number.isFinite(v)));
    ctx.fillStyle = s.colour;
    if (ys.length < 2) return;
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    ctx.fillText(`${s.label} ${ys[ys.length - 1]!.toFixed(3)} (${lo.toFixed(2)}–${hi.toFixed(2)})`, 6 + k * 155, 12);
    ctx.strokeStyle = s.colour;
    ctx.beginPath();
    ys.forEach((y, i) => {
      const px = (i / (ys.length - 1)) * (w - 8) + 4;
      const py = h - 4 - ((y - lo) / (hi - lo || 1)) * (h - 24);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
  });
};
