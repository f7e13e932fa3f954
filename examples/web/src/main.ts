/**
 * The page: three panels (draw and translate, load a model, train in the
 * browser) and `?selftest=1`. Built by examples/web/serve.ts with esbuild
 * from the `pix2pix-ts` entry alone.
 */
import * as tf from '@tensorflow/tfjs';
// Registers the webgpu backend: useBackend('auto') takes it where the browser has WebGPU, else webgl.
import '@tensorflow/tfjs-backend-webgpu';
import { alignedPair, useBackend, type ByteImage, type Mode } from 'pix2pix-ts';
import { createDrawing, type Tool } from './draw.ts';
import { disposeModel, hasRunningStats, loadFromArchive, loadFromFiles, loadFromUrl, paint, translateBytes, translateFloat, type PageModel } from './model.ts';
import { CLASSES, css } from './palette.ts';
import { selftest } from './selftest.ts';
import { bundledPairs, decodeImage, DEFAULT_MODEL } from './data.ts';
import { drawLosses } from './chart.ts';
import { startTraining, type Trainer } from './train.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = (text: string) => void ($('status').textContent = text);

let model: PageModel | undefined;
const setModel = (m: PageModel) => {
  const old = model;
  model = m;
  // A translation in flight may still be reading the old model's weights.
  void (running ?? Promise.resolve()).catch(() => undefined).then(() => disposeModel(old));
  $('model-name').textContent = m.name;
  $('model-summary').textContent = m.summary;
  // Eval mode needs batch norm's running statistics, which runs trained here do not keep.
  const mode = $<HTMLSelectElement>('mode');
  const evalOption = mode.querySelector<HTMLOptionElement>('option[value=eval]')!;
  evalOption.disabled = !hasRunningStats(m);
  evalOption.title = evalOption.disabled ? 'this model has no running statistics (the paper uses each image\'s own at test time)' : '';
  if (evalOption.disabled) mode.value = 'paper';
  schedule();
};

// Panel 1: drawing, translated as it changes (debounced; one translation at a time).
const labels = $<HTMLCanvasElement>('labels');
const photo = $<HTMLCanvasElement>('photo');
let timer: ReturnType<typeof setTimeout> | undefined;
let running: Promise<void> | undefined;
let again = false;
const translateNow = async (): Promise<void> => {
  if (model === undefined) return;
  if (running !== undefined) {
    again = true;
    return;
  }
  const m = model;
  running = (async () => {
    const t0 = performance.now();
    const out = await translateBytes(m, drawing.pixels(m.trained.config.size), { seed: Number($<HTMLInputElement>('seed').value) || 0, mode: $<HTMLSelectElement>('mode').value as Mode });
    const ms = performance.now() - t0;
    paint(photo, out);
    $('translate-ms').textContent = `${ms.toFixed(0)} ms per translation (${m.trained.config.size}x${m.trained.config.size})`;
    photo.dataset['translations'] = String(Number(photo.dataset['translations'] ?? 0) + 1);
  })();
  try {
    await running;
  } catch (e) {
    status(`translation failed: ${(e as Error).message}`);
  } finally {
    running = undefined;
  }
  if (again) {
    again = false;
    await translateNow();
  }
};
const schedule = () => {
  clearTimeout(timer);
  timer = setTimeout(() => void translateNow(), 80);
};
const drawing = createDrawing(labels, schedule);

const palette = $('palette');
for (const c of CLASSES) {
  const b = document.createElement('button');
  b.title = c.name;
  b.style.background = css(c);
  b.setAttribute('role', 'radio');
  b.setAttribute('aria-checked', String(c === drawing.colour));
  b.dataset['class'] = c.name;
  b.onclick = () => {
    drawing.colour = c;
    palette.querySelectorAll('button').forEach((x) => x.setAttribute('aria-checked', String(x === b)));
  };
  palette.append(b);
}
document.querySelectorAll<HTMLInputElement>('input[name=tool]').forEach((r) => (r.onchange = () => (drawing.tool = r.value as Tool)));
$<HTMLInputElement>('brush-size').oninput = (e) => (drawing.brushSize = Number((e.target as HTMLInputElement).value));
$('undo').onclick = () => drawing.undo();
$('clear').onclick = () => drawing.clear();
let facadeSeed = 1;
$('random').onclick = () => drawing.random(facadeSeed++);
$('seed').onchange = schedule;
$('mode').onchange = schedule;
labels.addEventListener('dragover', (e) => {
  e.preventDefault();
  labels.classList.add('drop');
});
labels.addEventListener('dragleave', () => labels.classList.remove('drop'));
labels.addEventListener('drop', (e) => {
  e.preventDefault();
  labels.classList.remove('drop');
  const file = e.dataTransfer?.files[0];
  if (file !== undefined) void createImageBitmap(file).then((bmp) => drawing.drawImage(bmp), (err: Error) => status(`${file.name}: ${err.message}`));
});

// Panel 2: models from files or URLs.
const guard = (what: string, f: () => Promise<void>) => () =>
  void f().catch((e: Error) => {
    status(`${what}: ${e.message}`);
    console.error(e);
  });
$<HTMLInputElement>('model-files').onchange = guard('loading the model', async () => setModel(await loadFromFiles([...($<HTMLInputElement>('model-files').files ?? [])])));
$('model-load').onclick = guard('loading the model', async () => setModel(await loadFromUrl($<HTMLInputElement>('model-url').value)));
$('model-default').onclick = guard('loading the model', async () => setModel(await loadFromUrl(DEFAULT_MODEL)));

// Panel 3: training.
let trainer: Trainer | undefined;
let userPairs: File[] = [];
const setPairs = (files: readonly File[]) => {
  userPairs = files.filter((f) => f.type.startsWith('image/'));
  $('train-data').textContent = userPairs.length > 0 ? `data: ${userPairs.length} A|B images of yours` : 'data: the bundled facades pairs';
};
$<HTMLInputElement>('train-files').onchange = () => setPairs([...($<HTMLInputElement>('train-files').files ?? [])]);
const trainPanel = $('panel-train');
trainPanel.addEventListener('dragover', (e) => e.preventDefault());
trainPanel.addEventListener('drop', (e) => {
  e.preventDefault();
  setPairs([...(e.dataTransfer?.files ?? [])]);
});
const losses: Array<Record<string, number>> = [];
const sampleCanvas = $<HTMLCanvasElement>('train-sample');
$('train-start').onclick = guard('training', async () => {
  if (trainer !== undefined) {
    // The old run ends at its next step (its hooks may be reading its state until then).
    const old = trainer;
    trainer = undefined;
    old.stop();
    await old.done.catch(() => undefined);
    old.dispose();
  }
  const direction = $<HTMLSelectElement>('train-direction').value as 'AtoB' | 'BtoA';
  const pairOfFile = async (f: File) => {
    try {
      return alignedPair(f.name, await decodeImage(f), { direction });
    } catch (e) {
      throw new Error(`${f.name}: ${(e as Error).message}`);
    }
  };
  const pairs = userPairs.length > 0 ? await Promise.all(userPairs.map(pairOfFile)) : await bundledPairs('train', direction);
  const steps = Number($<HTMLInputElement>('train-steps').value);
  losses.length = 0;
  const t = startTraining(
    pairs,
    {
      size: Number($<HTMLSelectElement>('train-size').value) as 32 | 64,
      ngf: Number($<HTMLSelectElement>('train-ngf').value),
      steps,
      sampleEvery: Number($<HTMLInputElement>('train-every').value),
      direction,
      dataName: userPairs.length > 0 ? `browser: ${pairs.length} pairs of the user's` : 'browser: examples/data/facades-mini/train',
    },
    {
      onProgress: ({ step, metrics, msPerStep }) => {
        losses.push(metrics as Record<string, number>);
        $<HTMLProgressElement>('train-progress').value = step / steps;
        $('train-info').textContent = `step ${step} / ${steps} · ${msPerStep.toFixed(0)} ms per step · L1 ${metrics['G/l1']?.toFixed(3) ?? '–'}`;
        if (step % 10 === 0 || step === steps) drawLosses($<HTMLCanvasElement>('train-losses'), losses);
      },
      onSample: (_step, s) => {
        const img = (data: Uint8Array): ByteImage => ({ height: s.size, width: s.size, channels: 3, data });
        const w = sampleCanvas.width / 3;
        paint(sampleCanvas, img(s.x), 0, w);
        paint(sampleCanvas, img(s.out), w, w);
        paint(sampleCanvas, img(s.y), 2 * w, w);
      },
    },
  );
  trainer = t;
  for (const id of ['train-pause', 'train-save', 'train-use']) $<HTMLButtonElement>(id).disabled = false;
  $('train-pause').textContent = 'pause';
  status(`training ${t.config.generator} (ngf ${t.config.ngf}) at ${t.config.size}x${t.config.size} on ${pairs.length} pairs`);
  await t.done;
  if (trainer === t) status(`training finished at step ${t.current().step}`);
});
$('train-pause').onclick = () => {
  if (trainer === undefined) return;
  if (trainer.paused) trainer.resume();
  else trainer.pause();
  $('train-pause').textContent = trainer.paused ? 'resume' : 'pause';
};
$('train-save').onclick = guard('saving', async () => {
  if (trainer === undefined) return;
  const bytes = await trainer.save();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
  a.download = `pix2pix-browser-step${trainer.current().step}.zip`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});
$('train-use').onclick = guard('using the trained model', async () => {
  if (trainer === undefined) return;
  setModel(await loadFromArchive(await trainer.save(), `trained in this page (step ${trainer.current().step})`));
});

/** For tests and the console: the page's pieces. */
const api = {
  translateFloat: async (input: number[], opts: { seed: number; mode: Mode }) => Array.from(await translateFloat(model!, Float32Array.from(input), opts)),
  loadModelUrl: async (url: string) => setModel(await loadFromUrl(url)),
  modelName: () => model?.name,
  numTensors: () => tf.memory().numTensors,
};
(globalThis as { pix2pixPage?: typeof api }).pix2pixPage = api;

const start = async () => {
  const backend = await useBackend('auto', { quiet: true });
  $('backend').textContent = backend.name;
  $('backend').title = backend.reason;
  drawing.random(0);
  if (new URLSearchParams(location.search).has('selftest')) {
    const out = $('selftest');
    out.hidden = false;
    try {
      out.textContent = JSON.stringify(await selftest(backend.name));
    } catch (e) {
      out.textContent = JSON.stringify({ error: (e as Error).message });
    }
    return;
  }
  status('loading the default model…');
  setModel(await loadFromUrl(DEFAULT_MODEL));
  await translateNow();
  status('ready');
  document.body.dataset['ready'] = 'true';
};
void start().catch((e: Error) => {
  status(`could not start: ${e.message}`);
  console.error(e);
});
