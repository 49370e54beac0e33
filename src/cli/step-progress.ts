import { MultiBar, Presets } from 'cli-progress';

/**
 * The progress of an evaluation that goes item by item (a file, a class), each in steps
 * (training epochs, then frames streamed): one bar at a time on stderr, named after the item
 * and the step, while stderr is a terminal and progress is wanted; else one line per item.
 */
export class StepProgress {
  private readonly bars: MultiBar | null;
  private bar: ReturnType<MultiBar['create']> | null = null;
  private step = '';
  private item = '';

  constructor(progress: boolean) {
    this.bars =
      progress && process.stderr.isTTY
        ? new MultiBar(
            {
              format: '{item} |{bar}| {value}/{total} {step}',
              stream: process.stderr,
              clearOnComplete: true,
            },
            Presets.shades_classic,
          )
        : null;
  }

  /** A new item starts (without bars, a line says so: `<item>: training`). */
  start(item: string): void {
    this.item = item;
    if (!this.bars) console.error(`${item}: training`);
  }

  /** `done` of `total` of a step of the current item; a new step or total starts a new bar. */
  show(step: string, done: number, total: number): void {
    if (!this.bars) return;
    if (this.bar && (this.step !== step || this.bar.getTotal() !== total)) this.clear();
    this.step = step;
    this.bar ??= this.bars.create(total, 0, { item: this.item, step });
    this.bar.update(done, { item: this.item, step });
  }

  /** A line about the item just done, above the bars. */
  log(line: string): void {
    this.clear();
    if (this.bars) this.bars.log(line + '\n');
    else console.error(line);
  }

  stop(): void {
    this.bars?.stop();
  }

  private clear(): void {
    if (this.bar) this.bars?.remove(this.bar);
    this.bar = null;
  }
}
