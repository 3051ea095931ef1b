// Swap on a 1 GB host: at least swap-size of active swap. Existing swap is never touched; what
// is missing is added as one swap file with one /etc/fstab line, so it survives a reboot.

import type { StepOutcome } from '../base/log.js';
import { outputTail, shq } from '../connection/shell.js';
import type { ExecResult, RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { HostFacts } from './preflight.js';

export const SWAP_FILE = '/swapfile-monitoring-deploy';

/** Disk the swap file must leave free on its filesystem, so the host keeps working. */
const SWAP_DISK_MARGIN_KB = 1024 * 1024;

/**
 * Prints `unchanged <active-kb>` or `changed <active-kb>`. Exit 5: sudo is needed but missing;
 * 6: our swap file is active but too small; 8: the file does not fit on its filesystem (with
 * `@nospace FREE_KB NEED_MB ACTIVE_KB FILE_KB` on stdout; nothing was written); 9: making or
 * switching on the file failed (the file is removed). Rounds the file up to whole MiB.
 */
export function swapScript(wantBytes: number, sudo: string, file = SWAP_FILE): string {
  const wantKb = Math.ceil(wantBytes / 1024);
  return `set -e
active_kb() { awk 'NR>1 {s+=$3} END {print s+0}' /proc/swaps; }
have=$(active_kb)
# mkswap keeps a page for its header: allow 1 MiB of slack so a file we made counts as enough.
if [ $((have + 1024)) -ge ${wantKb} ]; then echo "unchanged $have"; exit 0; fi
${sudo === 'none' ? 'echo "need sudo" >&2; exit 5' : ''}
S="${sudo}"
f=${shq(file)}
if grep -q "^$f " /proc/swaps; then
  echo "the swap file $f is active but too small; remove it (swapoff $f) to let the deploy make a larger one" >&2; exit 6
fi
# A swap file that could not be made or switched on is removed: no partial file fills the disk.
failed() { $S rm -f "$f"; echo "$1; $f was removed" >&2; exit 9; }
need_mb=$(( (${wantKb} - have + 1023) / 1024 ))
if [ ! -f "$f" ] || [ "$(( $(stat -c %s "$f") / 1048576 ))" -lt "$need_mb" ]; then
  # Before anything is written: the file (less an old one it replaces) must leave ${SWAP_DISK_MARGIN_KB / 1024} MiB free.
  old_kb=0; [ -f "$f" ] && old_kb=$(( $(stat -c %s "$f") / 1024 ))
  free_kb=$(df -Pk "$(dirname "$f")" | awk 'NR==2 {print $4}')
  case "$free_kb" in ''|*[!0-9]*) echo "could not read the free space of $(dirname "$f") (df -Pk)" >&2; exit 1 ;; esac
  if [ $((need_mb * 1024 + ${SWAP_DISK_MARGIN_KB})) -gt $((free_kb + old_kb)) ]; then
    echo "@nospace $free_kb $need_mb $have $old_kb"; exit 8
  fi
  $S rm -f "$f"
  fstype=$(stat -f -c %T "$(dirname "$f")" 2>/dev/null || echo unknown)
  # fallocate'd files are refused as swap on XFS and btrfs: write them out with dd there.
  case "$fstype" in xfs|btrfs|unknown) $S dd if=/dev/zero of="$f" bs=1M count="$need_mb" status=none || failed "writing $f failed" ;;
    *) $S fallocate -l "\${need_mb}M" "$f" 2>/dev/null || $S dd if=/dev/zero of="$f" bs=1M count="$need_mb" status=none || failed "writing $f failed" ;;
  esac
  $S chmod 600 "$f" || failed "chmod 600 $f failed"
  $S mkswap "$f" >/dev/null || failed "mkswap $f failed"
fi
$S swapon "$f" || failed "swapon $f failed"
grep -q "^$f " /etc/fstab || echo "$f none swap sw 0 0" | $S tee -a /etc/fstab >/dev/null
echo "changed $(active_kb)"
`;
}

const mibOf = (kb: number) => Math.floor(kb / 1024);

/** The error for what the swap script's exit code means; undefined for a code of no meaning here. */
export function swapError(r: ExecResult, wantBytes: number): DeployError | undefined {
  const nospace = /^@nospace (\d+) (\d+) (\d+) (\d+)$/m.exec(r.stdout);
  if (r.code === 8 && nospace) {
    const [freeKb, needMb, activeKb, oldKb] = nospace.slice(1).map(Number) as [number, number, number, number];
    const most = mibOf(activeKb + freeKb + oldKb - SWAP_DISK_MARGIN_KB);
    return new DeployError(
      `swap-size ${Math.round(wantBytes / 1024 ** 2)} MiB does not fit on the host's disk: the swap file ${SWAP_FILE} would need ${needMb} MiB, ` +
        `the filesystem of / has ${mibOf(freeKb)} MiB free, and the deploy leaves ${mibOf(SWAP_DISK_MARGIN_KB)} MiB of it free. Nothing was changed.`,
      `${most > mibOf(activeKb) ? `set swap-size to at most ${most}M, ` : ''}free disk space on the host (docker system prune, old logs), or set swap-size: 0 to leave swap alone.`,
    );
  }
  if (r.code === 9)
    return new DeployError(
      `Making the swap file failed on the host (exit 9):\n${outputTail(r.stdout, r.stderr)}\nSwap and /etc/fstab are as they were.`,
      'check the disk of the host (df -h /) and the error above, or set swap-size: 0 and add swap yourself.',
    );
  return undefined;
}

/** Prints `@swap <active swap in KiB>`. */
export const SWAP_STATE = `echo "@swap $(awk 'NR>1 {s+=$3} END {print s+0}' /proc/swaps)"`;

// mkswap keeps a page for its header: allow 1 MiB of slack so a file we made counts as enough.
const enough = (activeKb: number, wantBytes: number) => activeKb + 1024 >= Math.ceil(wantBytes / 1024);

/** The swap file the Swap step will write, in bytes (0: swap is enough, or left alone). */
export function swapFileBytes(activeKb: number, wantBytes: number): number {
  if (wantBytes === 0 || enough(activeKb, wantBytes)) return 0;
  return Math.ceil((Math.ceil(wantBytes / 1024) - activeKb) / 1024) * 1024 ** 2;
}

/** At least wantBytes of active swap; activeKb (from SWAP_STATE) spares a round trip when it is enough. */
export async function ensureSwap(
  remote: RemoteHost,
  facts: HostFacts,
  wantBytes: number,
  activeKb?: number,
): Promise<StepOutcome> {
  if (wantBytes === 0) return { changed: false, detail: 'swap-size 0: swap left alone' };
  if (activeKb !== undefined && enough(activeKb, wantBytes))
    return { changed: false, detail: `${Math.round(activeKb / 1024)} MiB active` };
  const sudo = facts.uid === 0 ? '' : facts.sudo ? 'sudo -n' : 'none';
  const out = await remote.run(swapScript(wantBytes, sudo), {
    what: 'Adding swap',
    timeoutMs: 300_000,
    explain: (r) =>
      r.code === 5
        ? new DeployError(
            `The host has ${Math.round(facts.swapTotalBytes / 1024 ** 2)} MiB of swap, less than swap-size, and adding swap needs root, but "${remote.settings.username}" has no passwordless sudo. Nothing was changed.`,
            `allow passwordless sudo for ${remote.settings.username}, add the swap yourself, or set swap-size: 0.`,
          )
        : swapError(r, wantBytes),
  });
  const [state, kb] = out.trim().split(/\s+/);
  const mib = Math.round(Number(kb) / 1024);
  return state === 'changed'
    ? { changed: true, detail: `swap file ${SWAP_FILE} on; ${mib} MiB active` }
    : { changed: false, detail: `${mib} MiB active` };
}
