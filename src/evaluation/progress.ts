import { Presets, SingleBar } from "cli-progress";

/** One long step with a bar (on a terminal) or a start and an end line (in CI logs). */
export interface StepProgress {
  /** Advances by one (or `by`), optionally naming what is being done. */
  tick(label?: string, by?: number): void;
  done(): void;
}

/** Progress of the evaluation's steps on stderr, so stdout stays clean. */
export class Progress {
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  step(name: string, total: number): StepProgress {
    const started = performance.now();
    const line = (text: string) => this.stream.write(`${text}\n`);
    if (!this.tty) {
      line(`… ${name}`);
      let count = 0;
      return {
        tick: (_label, by = 1) => {
          count += by;
        },
        done: () => line(`✓ ${name} (${count} steps, ${((performance.now() - started) / 1000).toFixed(1)} s)`),
      };
    }
    const bar = new SingleBar(
      {
        format: `${name.padEnd(34)} [{bar}] {value}/{total} {label} {duration_formatted}`,
        stream: this.stream,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    bar.start(Math.max(1, total), 0, { label: "" });
    return {
      tick: (label, by = 1) => bar.increment(by, { label: label ?? "" }),
      done: () => {
        bar.update(Math.max(1, total), { label: `done in ${((performance.now() - started) / 1000).toFixed(1)} s` });
        bar.stop();
      },
    };
  }

  note(text: string): void {
    this.stream.write(`${text}\n`);
  }
}
