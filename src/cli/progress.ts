import { Presets, SingleBar } from 'cli-progress';
import type { ReadProgress } from '../../analyzers/readRun';

/** Reads smaller than this finish before a bar would be worth drawing. */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

export interface ProgressReporter {
  onProgress(progress: ReadProgress): void;
  stop(): void;
}

const MIB = 1024 * 1024;

/**
 * A progress bar on stderr for long reads. Drawn only when stderr is a terminal and the file is
 * large; piped or redirected output stays silent.
 */
export function readProgress(label: string, options: { enabled: boolean; stream?: NodeJS.WriteStream }): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  let bar: SingleBar | undefined;
  let done = false;
  return {
    onProgress({ bytesRead, totalBytes }) {
      if (done || !options.enabled || !stream.isTTY || totalBytes < PROGRESS_MIN_BYTES) return;
      if (!bar) {
        bar = new SingleBar(
          {
            stream,
            format: `reading ${label} [{bar}] {percentage}% | {read}/{size} MiB | ETA {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 20,
            fps: 10,
          },
          Presets.shades_classic,
        );
        bar.start(totalBytes, 0, { read: '0.0', size: (totalBytes / MIB).toFixed(1) });
      }
      bar.update(Math.min(bytesRead, totalBytes), { read: (bytesRead / MIB).toFixed(1) });
    },
    stop() {
      done = true;
      bar?.stop();
      bar = undefined;
    },
  };
}
