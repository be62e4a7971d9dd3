/**
 * Easel's configuration: one YAML file (config/easel.yaml by default) plus environment overrides
 * for secrets. See the README's "Configuration" section for every key, its default and its variable.
 */
import type { HostConfig } from '../comfy/types.ts';
import type { CommandName } from '../commands/types.ts';

export interface ChannelPolicy {
  /** Added to every prompt's negative prompt in this channel. */
  negativePrompt?: string;
  /** Results are posted as spoilers. */
  spoiler?: boolean;
}

export interface CommandPolicy {
  /** When set, only these channel ids may use the command. */
  channels?: string[];
  /** When set, only users with one of these role ids/names may use the command. */
  roles?: string[];
  enabled?: boolean;
}

export interface PolicyConfig {
  commands: Partial<Record<CommandName, CommandPolicy>>;
  /** Whole words (case-insensitive) refused in prompts. */
  blockedWords: string[];
  /** Regular expressions (case-insensitive) refused in prompts. */
  blockedPatterns: string[];
  channels: Record<string, ChannelPolicy>;
  /** Who may press what. 'anyone' or 'author'. */
  buttons: { rerun: 'anyone' | 'author'; delete: 'anyone' | 'author'; cancel: 'anyone' | 'author' };
}

export interface LimitsConfig {
  /** Largest input file accepted, bytes. */
  maxInputBytes: number;
  /** Largest input image, pixels (width x height). */
  maxInputPixels: number;
  /** Jobs waiting across everyone before "queue is full". */
  queueCap: number;
  perUserWaiting: number;
  perUserRunning: number;
  /** Seconds a user waits between two submissions (0 = none). */
  cooldownSeconds: number;
  /** Most images in one variations run. */
  maxCount: number;
  maxSteps: number;
  /**
   * Most seconds one prompt may run on a host (the ceiling of its deadline). Below that, a prompt may
   * take a few times what the host's learned speed predicts (never less than a minute).
   */
  jobTimeoutSeconds: number;
  /** Submissions being received and read (download, decode) at once across everyone; more get "busy". */
  concurrentUploads: number;
  /** The same, for one user. */
  perUserUploads: number;
}

export interface EaselConfig {
  /** ComfyUI hosts. Empty: the built-in simulator is started and used (labelled "simulated"). */
  hosts: HostConfig[];
  simulator: { stepMs: number; previews: boolean };
  presetsDir: string;
  /** Model family used by presets when a host has both: sd15 (512 px) or sdxl (1024 px). */
  family: 'sd15' | 'sdxl';
  /** Checkpoint per family; the first one present on the host is used when unset. */
  checkpoints: { sd15?: string; sdxl?: string };
  dataDir: string;
  /** timeoutMs: how long one job-store call may take before the store is reported as not answering. */
  store: { sqlitePath: string; redisUrl?: string; timeoutMs: number };
  storage: { dir: string; retentionDays: number };
  limits: LimitsConfig;
  policy: PolicyConfig;
  discord: {
    token?: string;
    applicationId?: string;
    /** Register commands to this guild (instant, for development); global when unset. */
    guildId?: string;
    /** For tests: base URL of the REST API (default Discord's). */
    apiBase?: string;
  };
  slack: {
    mode: 'http' | 'socket';
    botToken?: string;
    signingSecret?: string;
    appToken?: string;
    port: number;
    /** For tests: base URL of the Web API (default Slack's). */
    apiUrl?: string;
  };
  playground: {
    enabled: boolean;
    host: string;
    port: number;
    /** Access token every API request must carry; required when host is not a loopback address. */
    token?: string;
  };
  ops: { host: string; port: number };
  log: {
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
    /** json: one JSON object per line; pretty: short readable lines; auto (default): pretty on a terminal, else json. */
    format?: 'auto' | 'json' | 'pretty';
  };
}
