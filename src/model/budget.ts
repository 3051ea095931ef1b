// What the stack may take of a host's disk: the budgets the settings resolve to, the rate Loki
// is held to so that its budget holds, and the caps of everything else that grows. Pure: the
// host's figures come in as numbers.
import type { DiskSettings } from '../settings/settings.js';
import { PINNED_IMAGES } from './versions.js';

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

/** The disk assumed where no host was asked (plan): the post's EC2 free-tier root volume. */
export const PLAN_DISK_BYTES = 8 * GiB;

/** auto: a share of the disk Docker keeps its volumes on, within bounds, in whole 64 MiB. */
const AUTO = {
  logs: { share: 0.1, min: 256 * MiB, max: 10 * GiB },
  metrics: { share: 0.08, min: 256 * MiB, max: 4 * GiB },
} as const;

export interface Budgets {
  /** Loki's volume. */
  readonly logsBytes: number;
  /** Prometheus' retention size (blocks, WAL and head chunks). */
  readonly metricsBytes: number;
  /** The app's log directory: warned about beyond it. */
  readonly appLogsBytes: number;
}

function auto(rule: { share: number; min: number; max: number }, diskBytes: number): number {
  const share = Math.floor((diskBytes * rule.share) / (64 * MiB)) * 64 * MiB;
  return Math.min(rule.max, Math.max(rule.min, share));
}

/** The budgets for a host whose volume disk has diskBytes (from its size, so redeploys agree). */
export function resolveBudgets(disk: DiskSettings, diskBytes: number = PLAN_DISK_BYTES): Budgets {
  return {
    logsBytes: disk.logsBudget === 'auto' ? auto(AUTO.logs, diskBytes) : disk.logsBudget,
    metricsBytes: disk.metricsBudget === 'auto' ? auto(AUTO.metrics, diskBytes) : disk.metricsBudget,
    appLogsBytes: disk.appLogsBudget,
  };
}

/**
 * How long logs wait before retention can remove them, at worst: the ingester ships its index
 * every 15 minutes (a fixed period in Loki's TSDB head manager), then an upload, a retention run
 * and the delete delay follow (loki-dev-config.yml), and the WAL and the chunks still in memory
 * hold up to 20 minutes more. What arrives in that time must fit in the budget, whatever it is:
 * the limit is on the uncompressed bytes, which is what the worst case (logs that do not
 * compress) writes.
 */
export const LOKI_UNREACHABLE_SECONDS = 45 * 60;

/** Loki's rate limits for a budget: the flags of its command line. */
export interface LokiLimits {
  /** -distributor.ingestion-rate-limit-mb (Loki's MB: 2^20 bytes). */
  readonly ingestionRateMb: string;
  /** -distributor.ingestion-burst-size-mb: at least one push of the log agent (1 MiB batches). */
  readonly ingestionBurstMb: string;
  /** -ingester.per-stream-rate-limit: half the rate, so one flooding log leaves room for the rest. */
  readonly streamRate: string;
  readonly streamBurst: string;
}

/** Loki's own default rate limit: a larger budget does not raise it further. */
const LOKI_DEFAULT_RATE_MB = 4;

export function lokiLimits(budgetBytes: number): LokiLimits {
  const rate = Math.min(LOKI_DEFAULT_RATE_MB * MiB, budgetBytes / LOKI_UNREACHABLE_SECONDS);
  return {
    ingestionRateMb: (Math.floor((rate / MiB) * 1000) / 1000).toString(),
    ingestionBurstMb: '2',
    streamRate: `${Math.floor(rate / 2 / 1024)}KB`,
    streamBurst: '2MB',
  };
}

/** Bytes a day Loki accepts at most under a budget (the rate limit, for people). */
export const lokiBytesPerDay = (budgetBytes: number) =>
  Math.min(LOKI_DEFAULT_RATE_MB * MiB, budgetBytes / LOKI_UNREACHABLE_SECONDS) * 86_400;

/** Prometheus' size flag: its units are powers of 1024 (MB = MiB). */
export const prometheusSize = (bytes: number) => `${Math.floor(bytes / MiB)}MB`;

/** Prometheus deletes whole blocks, and writes a new block before it drops the oldest. */
export const METRICS_BLOCK_MARGIN = 0.2;

/** nginx's log segments (nginx/log-segments.sh): at most this many of this size, per log file. */
export const NGINX_SEGMENT = { bytes: 10 * MiB, kept: 5 } as const;

/** Where log-segments.sh is mounted in nginx, and where it keeps the segments (the host's logs/nginx). */
export const NGINX_SEGMENTS = {
  script: '/etc/nginx/monitoring-deploy/log-segments.sh',
  files: '/var/log/nginx-files',
} as const;

/** An image not yet on the host, by its size once pulled: the pinned table, or an assumption. */
export function imageDiskBytes(image: string): { bytes: number; from: string } {
  const pinned = PINNED_IMAGES.find((p) => image === `${p.image}:${p.tag}`);
  if (pinned) return { bytes: pinned.diskMiB * MiB, from: pinned.sizeFrom };
  return {
    bytes: UNKNOWN_IMAGE_BYTES,
    from: 'not known before it is pulled: a Spring Boot image on a JRE base is assumed',
  };
}

/** An image of unknown size (your app's, an override): a Spring Boot app on a JRE base. */
export const UNKNOWN_IMAGE_BYTES = 512 * MiB;
