// Runs the Promela model of the log protocol (model/run.sh: spin, every
// safety, liveness and bug-finding check) when spin and a C compiler are
// installed; says so loudly and skips when they are not.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const script = fileURLToPath(new URL('../model/run.sh', import.meta.url));
const haveChecker = onPath('spin') && (onPath('cc') || onPath('gcc'));
if (!haveChecker) {
  console.warn('SKIPPED: spin not installed (or no C compiler): the log protocol model was NOT checked. Install it: apt-get install -y spin');
}

describe('model of the log protocol (spin)', () => {
  it.skipIf(!haveChecker)(
    'every check of model/run.sh ends as expected: the fixed protocol passes, each bug put back is found',
    () => {
      let out: string;
      try {
        out = execFileSync('bash', [script], { encoding: 'utf8', env: { ...process.env, CC: onPath('cc') ? 'cc' : 'gcc' } });
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; status?: number };
        throw new Error(`model/run.sh exited ${err.status}:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
      }
      const lines = out.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
      // The verdict of each named check, not just the exit code.
      const verdicts = Object.fromEntries(lines.map((l) => [l.split(/\s+/)[1], l.split(/\s+/)[0]]));
      for (const name of [
        'log-reader-writer-kill',
        'log-writers-nokill',
        'log-writers-kill-1',
        'live-reader-writer-kill',
        'live-writers-nokill',
        'bug-lapped-reader',
        'bug-late-seal',
        'bug-no-repair',
        'clients',
        'live-clients',
        'bug-clients-no-epoch',
        'cnr-order-kill',
        'cnr-order-two-replicas',
        'bug-cnr-no-order',
        'bug-cnr-steal-early',
        'bug-cnr-no-drive',
        'bug-cnr-no-wait',
        'pages',
        'bug-pages-no-recheck',
        'bug-pages-mark-early',
        'bug-pages-head-passes',
      ]) {
        expect(verdicts[name], `${name} in:\n${out}`).toBe('ok');
      }
      expect(out).toContain('run.sh: all checks as expected');
    },
    400_000, // about 90 s of CPU, run on every core (about 50 s on a quiet 2-core machine); a loaded one has taken 240 s
  );
});
