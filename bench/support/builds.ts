import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/stack/settings';

/** A roomcast build the bench runs: its bin/roomcast and dist/ live under `root`. */
export interface Build {
  label: string;
  root: string;
  commit: string | null;
}

export const CURRENT: Build = { label: 'this build', root: ROOT, commit: null };

/**
 * Another commit built beside this checkout (a detached git worktree under bench-results/builds,
 * sharing this checkout's node_modules): the A/B baseline. Built once; later runs reuse it.
 */
export function baselineBuild(ref: string): Build {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim();
  const root = path.join(ROOT, 'bench-results', 'builds', sha.slice(0, 10));
  if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    if (!existsSync(root)) execFileSync('git', ['worktree', 'add', '--detach', root, sha], { cwd: ROOT, stdio: 'ignore' });
    if (!existsSync(path.join(root, 'node_modules'))) symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    console.log(`building the baseline ${sha.slice(0, 10)} in ${root}`);
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  }
  return { label: `baseline ${ref === sha ? sha.slice(0, 10) : `${ref} (${sha.slice(0, 10)})`}`, root, commit: sha };
}
