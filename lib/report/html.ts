/** The run report: loss curves and the latest input / output / target triplets, in one static page. */
import { escapeHtml, lineChart, type Series } from './svg.ts';

export interface LossRecord {
  readonly step: number;
  readonly epoch: number;
  readonly [metric: string]: number;
}

export interface Triplet {
  readonly name: string;
  /** Image paths relative to the page. */
  readonly input: string;
  readonly output: string;
  readonly target?: string;
  /** e.g. "L1 0.213" */
  readonly note?: string;
}

export interface ReportContent {
  readonly title: string;
  readonly subtitle?: string;
  readonly facts?: ReadonlyArray<readonly [string, string]>;
  readonly losses?: readonly LossRecord[];
  readonly triplets: readonly Triplet[];
  readonly tripletsTitle?: string;
}

const series = (losses: readonly LossRecord[], keys: readonly string[]): Series[] =>
  keys
    .filter((k) => losses.some((r) => typeof r[k] === 'number'))
    .flatMap((k) => {
      const points = losses.filter((r) => typeof r[k] === 'number').map((r) => [r.step, r[k]!] as const);
      // Per-step GAN losses are noisy: a running mean shows the trend.
      return points.length > 50 ? [{ name: k, points }, { name: `${k} (mean of 25)`, points: runningMean(points, 25) }] : [{ name: k, points }];
    });

/** The keys the records use that match, in first-seen order; `legacy` names are those of runs logged before terms had names. */
const keysOf = (losses: readonly LossRecord[], match: (k: string) => boolean, legacy: readonly string[]): string[] => {
  const seen = new Set<string>();
  for (const r of losses) for (const k of Object.keys(r)) if (match(k) || legacy.includes(k)) seen.add(k);
  return [...seen];
};

const runningMean = (points: ReadonlyArray<readonly [number, number]>, n: number): Array<readonly [number, number]> => {
  let sum = 0;
  return points.map(([x, y], i) => {
    sum += y - (i >= n ? points[i - n]![1] : 0);
    return [x, sum / Math.min(i + 1, n)] as const;
  });
};

export const renderReport = (c: ReportContent): string => {
  const losses = c.losses ?? [];
  const charts =
    losses.length === 0
      ? ''
      : [
          lineChart('Discriminator: the parts of its loss', series(losses, keysOf(losses, (k) => k.startsWith('D/'), ['dReal', 'dFake']))),
          // One chart per term of G's loss (by name, so a new term needs no edit here), L1 with the sample L1s.
          ...keysOf(losses, (k) => k.startsWith('G/') && k !== 'G/l1', ['gGan']).map((k) => lineChart(`Generator: ${k.replace(/^G\//, '')}${k === 'gGan' ? ' (adversarial)' : ''}`, series(losses, [k]))),
          lineChart('Generator: L1 to the target', series(losses, ['L1', 'gL1', 'valL1', 'trainSampleL1'])),
        ].join('\n');
  const rows = c.triplets
    .map(
      (t) => `<tr><td>${escapeHtml(t.name)}${t.note ? `<br><small>${escapeHtml(t.note)}</small>` : ''}</td>
<td><img src="${encodeURI(t.input)}" alt="input"></td><td><img src="${encodeURI(t.output)}" alt="output"></td>
<td>${t.target ? `<img src="${encodeURI(t.target)}" alt="target">` : ''}</td></tr>`,
    )
    .join('\n');
  const facts = (c.facts ?? []).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(c.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}img{image-rendering:pixelated;width:192px}
table{border-collapse:collapse}td,th{padding:4px 8px;text-align:left;vertical-align:top}figure{display:inline-block;margin:0 1em 1em 0}
figcaption{font-size:13px;color:#555}.facts th{color:#555;font-weight:normal}</style></head>
<body><h1>${escapeHtml(c.title)}</h1>${c.subtitle ? `<p>${escapeHtml(c.subtitle)}</p>` : ''}
${facts ? `<table class="facts">${facts}</table>` : ''}
${charts ? `<h2>Losses</h2>\n${charts}` : ''}
<h2>${escapeHtml(c.tripletsTitle ?? 'Samples')}</h2>
<table><tr><th></th><th>input</th><th>output</th><th>target</th></tr>
${rows}
</table></body></html>
`;
};
