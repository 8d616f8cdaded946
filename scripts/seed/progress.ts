/**
 * Progress of one seeding step: a bar redrawn in place on a terminal, and a few plain lines
 * (start, every quarter, end) when the output goes to a file or a pipe.
 */
export class Progress {
  private done = 0;
  private lastQuarter = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: { isTTY?: boolean; write(text: string): unknown } = process.stdout,
  ) {
    this.draw();
  }

  tick(count = 1) {
    this.done = Math.min(this.total, this.done + count);
    this.draw();
  }

  /** Sets the count outright (for steps that are observed rather than counted). */
  set(count: number) {
    this.done = Math.min(this.total, count);
    this.draw();
  }

  finish(summary = '') {
    this.done = this.total;
    if (this.out.isTTY) this.out.write(`\r${this.line()}${summary ? `  ${summary}` : ''}\x1b[K\n`);
    else this.out.write(`${this.label}: ${this.total}/${this.total} done${summary ? ` (${summary})` : ''}\n`);
  }

  private line(): string {
    const width = 28;
    const filled = this.total === 0 ? width : Math.round((this.done / this.total) * width);
    return `${this.label.padEnd(26)} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${this.done}/${this.total}`;
  }

  private draw() {
    if (this.out.isTTY) {
      this.out.write(`\r${this.line()}\x1b[K`);
      return;
    }
    const quarter = this.total === 0 ? 4 : Math.floor((this.done / this.total) * 4);
    if (quarter !== this.lastQuarter && quarter < 4) {
      this.lastQuarter = quarter;
      this.out.write(`${this.label}: ${this.done}/${this.total}\n`);
    }
  }
}
