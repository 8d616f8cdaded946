import { emptyTally, OUTCOMES, WINDOW_SECONDS, type Outcome, type Tally } from '../live.ts';

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 40, right: 12, top: 12, bottom: 28 };
export const OUTCOME_LABELS: Record<Outcome, string> = { placed: 'Placed', processed: 'Processed', failed: 'Failed', cancelled: 'Cancelled' };

/** The smallest "nice" number (1, 2, 5 × 10ⁿ) at or above `value`, for the y axis. */
function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  return ([1, 2, 5, 10].map((m) => m * power).find((m) => m >= value) ?? 10 * power) || 1;
}

/**
 * Orders per second by outcome over the last five minutes, one line per outcome, drawn as SVG.
 * Lines differ by dash pattern as well as colour; the legend carries the numbers in text.
 */
export function OrdersChart({ perSecond, now }: { perSecond: Map<number, Tally>; now: number }) {
  const end = Math.floor(now / 1000);
  const seconds = Array.from({ length: WINDOW_SECONDS }, (_, i) => end - WINDOW_SECONDS + 1 + i);
  const rows = seconds.map((second) => perSecond.get(second) ?? emptyTally());
  const top = niceMax(Math.max(1, ...rows.flatMap((row) => OUTCOMES.map((o) => row[o]))));
  const x = (i: number) => PAD.left + (i / (WINDOW_SECONDS - 1)) * (WIDTH - PAD.left - PAD.right);
  const y = (value: number) => HEIGHT - PAD.bottom - (value / top) * (HEIGHT - PAD.top - PAD.bottom);
  const lastMinute = rows.slice(-60).reduce((sum, row) => {
    for (const o of OUTCOMES) sum[o] += row[o];
    return sum;
  }, emptyTally());
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="chart-title" preserveAspectRatio="none">
        <title id="chart-title">Orders per second by outcome, last 5 minutes</title>
        {[0, top / 2, top].filter(Number.isInteger).map((value) => (
          <g key={value} class="grid">
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(value)} y2={y(value)} />
            <text x={PAD.left - 6} y={y(value) + 4} text-anchor="end">
              {value}
            </text>
          </g>
        ))}
        {[0, 1, 2, 3, 4, 5].map((minute) => (
          <text key={minute} class="axis" x={x(WINDOW_SECONDS - 1 - minute * 60 + (minute === 5 ? 1 : 0))} y={HEIGHT - 8} text-anchor="middle">
            {minute === 0 ? 'now' : `−${minute} min`}
          </text>
        ))}
        {OUTCOMES.map((outcome) => (
          <polyline key={outcome} class={`line outcome-${outcome}`} points={rows.map((row, i) => `${x(i).toFixed(1)},${y(row[outcome]).toFixed(1)}`).join(' ')} />
        ))}
      </svg>
      <figcaption>
        <ul class="legend" aria-label="Orders in the last minute">
          {OUTCOMES.map((outcome) => (
            <li key={outcome} class={`outcome-${outcome}`} data-outcome={outcome}>
              <span class="swatch" aria-hidden="true" /> {OUTCOME_LABELS[outcome]}: <strong>{lastMinute[outcome]}</strong> in the last minute
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
