/** A small inline-SVG line chart for loss curves: no dependencies, no scripts. */

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [x: number, y: number]>;
}

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Thin out long series so the page stays small (keeps the first and last point). */
const thin = (points: Series['points'], max = 600): Series['points'] => {
  if (points.length <= max) return points;
  const every = Math.ceil(points.length / max);
  return points.filter((_, i) => i % every === 0 || i === points.length - 1);
};

export const lineChart = (title: string, series: readonly Series[], width = 560, height = 220): string => {
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) return `<figure><figcaption>${escape(title)}</figcaption><p>no data yet</p></figure>`;
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(0, ...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const pad = { l: 48, r: 10, t: 10, b: 24 };
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const sy = (y: number) => height - pad.b - ((y - y0) / (y1 - y0 || 1)) * (height - pad.t - pad.b);
  const lines = series.map((s, i) => {
    const d = thin(s.points)
      .filter(([, y]) => Number.isFinite(y))
      .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join('');
    return `<path d="${d}" fill="none" stroke="${palette[i % palette.length]}" stroke-width="1.5"/>`;
  });
  const legend = series
    .map((s, i) => `<tspan fill="${palette[i % palette.length]}" dx="${i === 0 ? 0 : 12}">■ ${escape(s.name)}</tspan>`)
    .join('');
  const ticks = [y0, (y0 + y1) / 2, y1]
    .map((y) => `<text x="${pad.l - 4}" y="${sy(y) + 4}" text-anchor="end" font-size="10">${y.toPrecision(3)}</text>`)
    .join('');
  return `<figure><figcaption>${escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img">
<rect x="${pad.l}" y="${pad.t}" width="${width - pad.l - pad.r}" height="${height - pad.t - pad.b}" fill="#fafafa" stroke="#ccc"/>
${ticks}<text x="${pad.l}" y="${height - 6}" font-size="10">step ${x0}</text><text x="${width - pad.r}" y="${height - 6}" font-size="10" text-anchor="end">${x1}</text>
${lines.join('\n')}
<text x="${pad.l + 6}" y="${pad.t + 14}" font-size="11">${legend}</text></svg></figure>`;
};

export { escape as escapeHtml };
