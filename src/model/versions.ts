// The images of the bundled stack (compose/) and the version each is pinned to, in one place.
// The compose files pin exactly these (a unit test compares every `image:` with this table), and
// the README's version table is made from it (`npm run docs`). Each version was checked against
// its project's release tags (prometheus/prometheus v3.13.2, prometheus/node_exporter v1.12.1,
// grafana/loki v3.6.15 and v3.6.11, grafana/alloy v1.18.1, nginx/nginx release-1.30.4).

import { LOG_AGENTS } from '../base/log-agents.js';

export interface PinnedImage {
  /** The image repository, as the compose files name it. */
  readonly image: string;
  readonly tag: string;
  /** The services of compose/*.yml that run it. */
  readonly services: readonly string[];
  /** Why this version, in one line. */
  readonly why: string;
  /** Its size on the host's disk once pulled (uncompressed), rounded up: for the disk budget. */
  readonly diskMiB: number;
  /** Where that size comes from. */
  readonly sizeFrom: string;
}

export const PINNED_IMAGES: readonly PinnedImage[] = [
  {
    image: 'prom/prometheus',
    tag: 'v3.13.2',
    services: ['prometheus'],
    why: 'newest 3.13 patch; its retention flags still work (deprecated since 3.8, see the compose file)',
    diskMiB: 320,
    sizeFrom:
      "estimate: busybox base (4 MiB) and two binaries, prometheus and promtool, which are 100 and 98 MB stripped in Debian's 3.5.3 build and larger unstripped in the release build",
  },
  {
    image: 'prom/node-exporter',
    tag: 'v1.12.1',
    services: ['node-exporter'],
    why: 'newest release; the flags we pass are unchanged',
    diskMiB: 40,
    sizeFrom: "estimate: busybox base and one binary (17 MB stripped in Debian's 1.11.1 build)",
  },
  {
    image: 'grafana/loki',
    tag: '3.6.15',
    services: ['loki'],
    why: "newest patch of 3.6, Promtail's last minor (the linter wants both on one minor)",
    diskMiB: 160,
    sizeFrom:
      'estimate: distroless static base (2 MiB) and the loki binary, 133 MB built from v3.6.15 here with the same flags',
  },
  ...LOG_AGENTS.map(({ image, tag, name, why, diskMiB, sizeFrom }) => ({
    image,
    tag,
    services: [name],
    why,
    diskMiB,
    sizeFrom,
  })),
  {
    image: 'busybox',
    tag: '1.37.0',
    services: ['disk-guard'],
    why: 'newest release; sh, find, stat, du and awk are all disk-guard needs',
    diskMiB: 5,
    sizeFrom: '4.4 MB on disk (docker-library/repo-info, repos/busybox/local/1.37.0.md)',
  },
  {
    image: 'grafana/grafana',
    tag: '13.2.2',
    services: ['grafana'],
    why: 'newest 13.2 patch (13.2.1 and 13.2.2 carry security fixes); file provisioning as in 12; gzip off, see the compose file',
    diskMiB: 700,
    sizeFrom:
      'estimate: no published size found; 168 MB compressed for an 11.6 build (grafana/grafana-image-tags), about three times that unpacked, and 13 ships more',
  },
  {
    image: 'nginx',
    tag: '1.30.4-alpine',
    services: ['nginx', 'receiver'],
    why: 'newest patch of the stable line (1.30) confirmed; alpine for size',
    diskMiB: 70,
    sizeFrom:
      '68.4 MB on disk for nginx:1.30.4-alpine (docker-library/repo-info, repos/nginx/local/1.30.4-alpine3.24.md)',
  },
];

/** The pinned image a service of the bundled stack runs, as `image:tag`. */
export function pinnedImageOf(service: string): string | undefined {
  const p = PINNED_IMAGES.find((x) => x.services.includes(service));
  return p && `${p.image}:${p.tag}`;
}

/** The README's version table. */
export function versionsMarkdown(): string {
  return [
    '| service | image | why this version |',
    '| --- | --- | --- |',
    ...PINNED_IMAGES.map((p) => `| ${p.services.join(', ')} | \`${p.image}:${p.tag}\` | ${p.why} |`),
  ].join('\n');
}
