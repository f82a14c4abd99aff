// A real full disk for the audit fault test: a small tmpfs (we run as root in CI), filled to the last byte by a
// ballast file, and emptied again by removing it.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  dir: string;
  /** fills every free byte with a ballast file; returns its size */
  fill(): number;
  /** removes the ballast: the space is back */
  free(): void;
  /** bytes free for an unprivileged writer */
  available(): number;
  unmount(): void;
}

/** Why a tmpfs cannot be mounted here (not root, no CAP_SYS_ADMIN), or undefined when it can. */
export function cannotMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const probe = mkdtempSync(path.join(tmpdir(), 'agentdb-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs is not permitted here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmdirSync(probe);
  }
}

export function mountSmallDisk(sizeMb: number): SmallDisk {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentdb-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  const ballast = path.join(dir, 'ballast');
  const available = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    available,
    fill() {
      const fd = openSync(ballast, 'a');
      let total = 0;
      try {
        // Big writes first, then smaller ones down to single bytes: every block, and the tail of the last one, is taken.
        for (const size of [1 << 20, 1 << 16, 4096, 512, 1]) {
          const chunk = Buffer.alloc(size, 0x42);
          for (;;) {
            try {
              total += writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return total;
    },
    free: () => rmSync(ballast, { force: true }),
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmdirSync(dir);
    },
  };
}
