// Swap on a 1 GB host: at least swap-size of active swap. Existing swap is never touched; what
// is missing is added as one swap file with one /etc/fstab line, so it survives a reboot.
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { StepOutcome } from '../report/steps.js';
import type { HostFacts } from './preflight.js';

export const SWAP_FILE = '/swapfile-monitoring-deploy';

/**
 * Prints `unchanged <active-kb>` or `changed <active-kb>`; exit 5 when sudo is needed but
 * missing. Rounds the file up to whole MiB.
 */
export function swapScript(wantBytes: number, sudo: string): string {
  const wantKb = Math.ceil(wantBytes / 1024);
  return `set -e
active_kb() { awk 'NR>1 {s+=$3} END {print s+0}' /proc/swaps; }
have=$(active_kb)
# mkswap keeps a page for its header: allow 1 MiB of slack so a file we made counts as enough.
if [ $((have + 1024)) -ge ${wantKb} ]; then echo "unchanged $have"; exit 0; fi
${sudo === 'none' ? 'echo "need sudo" >&2; exit 5' : ''}
S="${sudo}"
f=${SWAP_FILE}
if grep -q "^$f " /proc/swaps; then
  echo "the swap file $f is active but too small; remove it (swapoff $f) to let the deploy make a larger one" >&2; exit 6
fi
need_mb=$(( (${wantKb} - have + 1023) / 1024 ))
if [ ! -f "$f" ] || [ "$(( $(stat -c %s "$f") / 1048576 ))" -lt "$need_mb" ]; then
  $S rm -f "$f"
  fstype=$(stat -f -c %T / 2>/dev/null || echo unknown)
  # fallocate'd files are refused as swap on XFS and btrfs: write them out with dd there.
  case "$fstype" in xfs|btrfs|unknown) $S dd if=/dev/zero of="$f" bs=1M count="$need_mb" status=none ;;
    *) $S fallocate -l "\${need_mb}M" "$f" 2>/dev/null || $S dd if=/dev/zero of="$f" bs=1M count="$need_mb" status=none ;;
  esac
  $S chmod 600 "$f"
  $S mkswap "$f" >/dev/null
fi
$S swapon "$f"
grep -q "^$f " /etc/fstab || echo "$f none swap sw 0 0" | $S tee -a /etc/fstab >/dev/null
echo "changed $(active_kb)"
`;
}

/** Prints `@swap <active swap in KiB>`. */
export const SWAP_STATE = `echo "@swap $(awk 'NR>1 {s+=$3} END {print s+0}' /proc/swaps)"`;

// mkswap keeps a page for its header: allow 1 MiB of slack so a file we made counts as enough.
const enough = (activeKb: number, wantBytes: number) => activeKb + 1024 >= Math.ceil(wantBytes / 1024);

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
        : undefined,
  });
  const [state, kb] = out.trim().split(/\s+/);
  const mib = Math.round(Number(kb) / 1024);
  return state === 'changed'
    ? { changed: true, detail: `swap file ${SWAP_FILE} on; ${mib} MiB active` }
    : { changed: false, detail: `${mib} MiB active` };
}
