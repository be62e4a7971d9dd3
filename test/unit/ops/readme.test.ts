/**
 * The README says what the code does: the configuration key table holds configuration keys only, the
 * metrics have their own table under Operations (every metric Easel exports), the images bench table has
 * the rows `npm run bench:images` prints, the native build needs are stated, and `easel doctor` is the
 * centre of "Connect your GPU" with options it really has.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { subcommandUsage } from '../../../src/cli/usage.ts';
import { PROJECT_ROOT } from '../../../src/config/load-config.ts';

const read = (f: string) => readFileSync(path.join(PROJECT_ROOT, f), 'utf8');
const readme = read('README.md');

/** The text of one `## ` section. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README has no "## ${title}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** First cells of a markdown table's body rows, for the table whose header starts with `header`. */
function firstCells(text: string, header: string): string[] {
  const at = text.indexOf(`| ${header} |`);
  expect(at, `no table with header "${header}"`).toBeGreaterThanOrEqual(0);
  const rows = text.slice(at).split('\n').slice(2);
  const out: string[] = [];
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    out.push(row.split('|')[1].trim().replace(/^`|`$/g, ''));
  }
  return out;
}

const metricNames = [...read('src/ops/metrics.ts').matchAll(/name: '(easel_[a-z_]+)'/g)].map((m) => m[1]);

describe('README', () => {
  it('the configuration key table lists configuration keys, not metrics', () => {
    const keys = firstCells(section('Configuration'), 'key');
    expect(keys.length).toBeGreaterThan(30);
    expect(keys.filter((k) => k.startsWith('easel_'))).toEqual([]);
  });

  it('Operations has a metrics table with every metric Easel exports', () => {
    expect(metricNames.length).toBeGreaterThanOrEqual(5);
    const rows = firstCells(section('Operations'), 'metric');
    expect(rows.sort()).toEqual([...metricNames].sort());
  });

  it('the bench:images table has exactly the rows the bench prints, in its order', () => {
    const bench = read('bench/images.bench.ts');
    const casesBlock = bench.slice(bench.indexOf('const cases'), bench.indexOf('const samples'));
    const printed = [...casesBlock.matchAll(/name: '([^']+)'/g)].map((m) => m[1]);
    expect(printed.length).toBeGreaterThanOrEqual(5);
    expect(firstCells(section('Benchmarks'), 'case')).toEqual(printed);
  });

  it('says that building better-sqlite3 from source needs Python, make and a C++ compiler', () => {
    expect(readme).toMatch(/better-sqlite3[\s\S]{0,400}Python 3, `make` and a C\+\+ compiler[\s\S]{0,100}apt-get install python3 make g\+\+/);
  });

  it('"Connect your GPU" is built around easel doctor, with options doctor really has', () => {
    const gpu = section('Connect your GPU');
    expect(gpu).toMatch(/npx easel doctor --host http/);
    const usage = subcommandUsage('doctor')!;
    // ComfyUI's own flags (python main.py --listen ...) are not doctor's.
    const comfyFlags = ['--listen', '--port', '--preview-method'];
    const options = (gpu.match(/--[a-z][a-z-]+/g) ?? []).filter((o) => !comfyFlags.includes(o));
    expect(options).toEqual(expect.arrayContaining(['--host', '--timeout', '--no-job']));
    for (const option of options) expect(usage, option).toContain(option);
    expect(readme).not.toMatch(/## Running against a real ComfyUI host/);
  });
});
