/**
 * The label canvas: rectangle and brush tools in the palette's colours,
 * undo, clear, a random facade, and images dropped onto it. Every change
 * calls `onChange` (the page debounces the translation).
 */
import type { ByteImage } from 'pix2pix-ts';
import { CLASSES, css, drawRandomFacade, type LabelClass } from './palette.ts';

export type Tool = 'rect' | 'brush';

export interface Drawing {
  colour: LabelClass;
  tool: Tool;
  brushSize: number;
  undo(): void;
  clear(): void;
  random(seed: number): void;
  drawImage(img: CanvasImageSource): void;
  /** The canvas as RGB pixels at `size` x `size` (nearest neighbour, so label colours stay exact). */
  pixels(size: number): ByteImage;
}

const UNDO_DEPTH = 40;

export const rgbOf = (data: Uint8ClampedArray, width: number, height: number): ByteImage => {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
    rgb[j] = data[i]!;
    rgb[j + 1] = data[i + 1]!;
    rgb[j + 2] = data[i + 2]!;
  }
  return { height, width, channels: 3, data: rgb };
};

export const createDrawing = (canvas: HTMLCanvasElement, onChange: () => void): Drawing => {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const history: ImageData[] = [];
  const snapshot = () => {
    history.push(ctx.getImageData(0, 0, canvas.width, canvas.height));
    if (history.length > UNDO_DEPTH) history.shift();
  };
  const at = (e: PointerEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    return [((e.clientX - box.left) / box.width) * canvas.width, ((e.clientY - box.top) / box.height) * canvas.height];
  };
  let start: [number, number] | undefined;
  let before: ImageData | undefined;
  const d: Drawing = {
    colour: CLASSES[2]!,
    tool: 'rect',
    brushSize: 10,
    undo() {
      const last = history.pop();
      if (last === undefined) return;
      ctx.putImageData(last, 0, 0);
      onChange();
    },
    clear() {
      snapshot();
      ctx.fillStyle = css(CLASSES[0]!);
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      onChange();
    },
    random(seed) {
      snapshot();
      drawRandomFacade(ctx, seed);
      onChange();
    },
    drawImage(img) {
      snapshot();
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      onChange();
    },
    pixels(size) {
      const small = document.createElement('canvas');
      small.width = small.height = size;
      const sctx = small.getContext('2d', { willReadFrequently: true })!;
      sctx.imageSmoothingEnabled = false;
      sctx.drawImage(canvas, 0, 0, size, size);
      return rgbOf(sctx.getImageData(0, 0, size, size).data, size, size);
    },
  };
  const dab = (x: number, y: number) => {
    ctx.beginPath();
    ctx.arc(x, y, d.brushSize / 2, 0, 2 * Math.PI);
    ctx.fill();
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    snapshot();
    start = at(e);
    before = ctx.getImageData(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = css(d.colour);
    if (d.tool === 'brush') {
      dab(...start);
      onChange();
    }
  });
  canvas.addEventListener('pointermove', (e) => {
    if (start === undefined) return;
    const [x, y] = at(e);
    ctx.fillStyle = css(d.colour);
    if (d.tool === 'brush') {
      dab(x, y);
    } else {
      ctx.putImageData(before!, 0, 0);
      ctx.fillRect(Math.min(start[0], x), Math.min(start[1], y), Math.abs(x - start[0]), Math.abs(y - start[1]));
    }
    onChange();
  });
  const end = () => {
    if (start !== undefined) onChange();
    start = undefined;
    before = undefined;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return d;
};
