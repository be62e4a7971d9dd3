/**
 * The help texts of the `easel` command: the overview (`easel help`) and one per subcommand
 * (`easel start --help`, `easel run --help`, ...). `--help` on any subcommand prints its text and
 * runs nothing.
 */

export const EXIT_CODES = `Exit codes: 0 success · 1 a runtime failure (host unreachable, job failed, store or config problem)
            2 a usage error (unknown command or option, bad value, missing or extra image, unusable --out)`;

export const USAGE = `Easel: ComfyUI image-to-image for Discord, Slack and a local playground.

Usage:
  easel start                         run Easel (Discord/Slack when configured, else the local playground)
  easel run <command> <image> [image2] [--option value ...] [--host URL] [--out DIR] [--dry-run]
                                      run one command and write the results to disk (default ./easel-out)
  easel doctor [--host URL]           check a ComfyUI host: reachability, auth, version, presets, a test job
  easel register [--global]           register Discord slash commands (guild from DISCORD_GUILD_ID, else global)
  easel simulator [--port 8188] [--step-ms 150]
                                      run the built-in ComfyUI simulator as a standalone host
  easel help [command]                this text, or the options of one command
  easel <subcommand> --help           the options of one subcommand

Commands: restyle, upscale, variations, sketch, restore, hires, blend
Examples:
  easel run restyle photo.jpg --style watercolor --denoise 0.6
  easel run variations photo.jpg --count 4 --out results
  easel run upscale photo.jpg --scale 2 --host http://gpu-box:8188
  easel run blend a.png b.png --blend 0.5 --dry-run
  easel doctor --host http://gpu-box:8188
Configuration: config/easel.yaml (or EASEL_CONFIG) plus environment variables; see the README.
${EXIT_CODES}`;

const START = `Usage: easel start [--config FILE]

Runs Easel with every front end that is configured: Discord when DISCORD_TOKEN is set, Slack when its
tokens are set, otherwise the local playground (http://127.0.0.1:7860). With no ComfyUI host configured
(COMFYUI_URL or hosts in the config file) the built-in simulator stands in. Health and metrics are served
on http://127.0.0.1:9464/healthz and /metrics. Stop it with Ctrl+C.

Options:
  --config FILE   the configuration file (default config/easel.yaml, or EASEL_CONFIG)
${EXIT_CODES}`;

const RUN = `Usage: easel run <command> <image> [image2] [--option value ...] [--host URL] [--out DIR] [--dry-run]

Runs one command through the same core the chat front ends use and writes the gallery and each image
(PNG with the parameters and the workflow embedded) to DIR. Progress goes to stderr.

Commands: restyle, upscale, variations, sketch, restore, hires, blend
  (blend takes two images: easel run blend A.png B.png)

Options of easel run:
  --host URL      the ComfyUI host to use (repeatable); auth from COMFYUI_TOKEN, COMFYUI_USER +
                  COMFYUI_PASSWORD or COMFYUI_AUTH_HEADER. Default: the configured hosts, else the
                  built-in simulator
  --out DIR       where the results go (default ./easel-out); checked before the job runs
  --size input    resize the results to your image's size and aspect (times --scale for upscales);
                  default "model": the size the model worked at, which the summary states
  --dry-run       print the API-format workflow JSON and submit nothing
  --quiet         no progress lines
  --wait SECONDS  how long to wait for a host to come up (default 30)
  --step-ms MS    the built-in simulator's time per step
  --config FILE   the configuration file
Every other --option is an option of the command: easel help <command> (or easel run <command> --help)
lists them with their ranges and defaults.
${EXIT_CODES}`;

const DOCTOR = `Usage: easel doctor [--host URL ...] [--timeout SECONDS] [--no-job] [--config FILE]

Checks a ComfyUI host before you point Easel at it:
  - reachability and auth (connection refused, no answer in time, HTTP 401/403 each get their own verdict)
  - the ComfyUI version, Python/PyTorch and GPU from /system_stats
  - every preset's nodes and models against the host's /object_info, naming exactly what to install
    (missing node classes, checkpoint and upscale model files) and which presets each one disables
  - one tiny test job (the smallest preset at the smallest size, 1 step), with its timing

Options:
  --host URL        the host to check (repeatable). Default: the configured hosts (COMFYUI_URL, COMFYUI_URLS
                    or hosts in the config file). Auth comes from the same settings as for running:
                    COMFYUI_TOKEN, COMFYUI_USER + COMFYUI_PASSWORD or COMFYUI_AUTH_HEADER
  --timeout SECONDS how long each request may take (default 10)
  --no-job          skip the test job
  --config FILE     the configuration file (presets folder, family, checkpoints)
Exit code 0 when every check passes, 1 when any fails, 2 for a usage error.`;

const REGISTER = `Usage: easel register [--global] [--config FILE]

Registers Easel's slash commands with Discord (DISCORD_TOKEN and DISCORD_APPLICATION_ID must be set).
With DISCORD_GUILD_ID the commands go to that server (instant); without it, or with --global, to every
server. Unchanged commands are left alone.
${EXIT_CODES}`;

const SIMULATOR = `Usage: easel simulator [--port 8188] [--step-ms 150] [--data-dir DIR]

Runs Easel's built-in ComfyUI simulator as a standalone host (same HTTP + WebSocket protocol, simulated
images, no GPU). Point Easel or any ComfyUI client at it, e.g. COMFYUI_URL=http://127.0.0.1:8188.

Options:
  --port N        the port to listen on, 0 for any free one (default 8188)
  --step-ms MS    time per sampler step (default 150)
  --data-dir DIR  where input/, output/ and temp/ go (default a fresh temporary folder)
Stop it with Ctrl+C.
${EXIT_CODES}`;

const BY_SUBCOMMAND: Record<string, string> = {
  start: START,
  run: RUN,
  doctor: DOCTOR,
  register: REGISTER,
  simulator: SIMULATOR,
  help: USAGE,
};

/** The help text of one subcommand (undefined for an unknown one). */
export function subcommandUsage(sub: string): string | undefined {
  return BY_SUBCOMMAND[sub];
}
