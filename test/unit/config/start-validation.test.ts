/**
 * `easel start` (what `npm start` runs) checks the configuration before anything starts: with
 * mistakes it exits 1 and prints each problem on its own line, naming the key, the variable it came
 * from and what is wrong; a secret's value is never echoed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/config/load-config.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-start-validation-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('easel start with a bad configuration', () => {
  it('exits 1 listing every problem with its key, and starts nothing', () => {
    const file = path.join(tmp, 'easel.yaml');
    writeFileSync(file, 'limits:\n  queuecap: 5\nplayground:\n  port: 7860\nops:\n  port: 7860\n');
    const run = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin/easel.mjs'), 'start'], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 20_000,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        EASEL_CONFIG: file,
        EASEL_DATA_DIR: path.join(tmp, 'data'),
        EASEL_QUEUE_CAP: 'lots',
        LOG_LEVEL: 'loud',
        REDIS_URL: 'http://:hunter2-secret@redis:6379',
        COMFYUI_TOKEN: 'tok-not-shown-123',
      },
    });
    expect(run.status).toBe(1);
    expect(run.stdout).not.toContain('playground');
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toBe("easel: Invalid configuration (easel.yaml):");
    const problems = lines.slice(1).map((l) => l.replace(/^\s+- /, ''));
    expect(problems).toEqual(
      expect.arrayContaining([
        'limits.queuecap: unknown key (did you mean "limits.queueCap"?)',
        'EASEL_QUEUE_CAP (limits.queueCap): must be a whole number >= 1, got "lots"',
        expect.stringMatching(/^LOG_LEVEL \(log\.level\): must be one of trace, debug, info, warn, error, silent, got "loud"/),
        expect.stringMatching(/^REDIS_URL \(store\.redisUrl\): .* is not a redis:\/\/ or rediss:\/\/ URL$/),
        expect.stringMatching(/COMFYUI_TOKEN .*no ComfyUI host is configured/),
      ]),
    );
    expect(run.stderr).not.toContain('hunter2-secret');
    expect(run.stderr).not.toContain('tok-not-shown-123');
  }, 30_000);
});
