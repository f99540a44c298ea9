// Bar charts in SVG with their axes: a title, the value axis from zero with its unit, labels
// along the other axis, every bucket drawn (an empty one as a gap on the axis), a tooltip per bar,
// and a sentence saying what the chart shows for screen readers.
import { Box, Flex, Text } from "@chakra-ui/react";

export interface Bar {
  key: string;
  value: number;
  label: string; // under the axis, when `tick` is set
  title: string; // the tooltip
  tick?: boolean;
  color?: string;
}

const W = 640;
const H = 170;
const PAD = { left: 56, right: 24, top: 10, bottom: 30 };

function short(n: number): string {
  return Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** A value axis from zero: grid lines and labels at 0, half and `top`, the unit along it, and the
 * time axis's line at `bottom`. `y` places a value; `left` and `right` bound the plot. */
export function ValueAxis({ top, y, left, right, bottom, unit, format = short }: { top: number; y: (v: number) => number; left: number; right: number; bottom: number; unit: string; format?: (v: number) => string }) {
  return (
    <>
      {[0, top / 2, top].map((v) => (
        <g key={v}>
          <line x1={left} x2={right} y1={y(v)} y2={y(v)} stroke="currentColor" strokeOpacity={0.12} />
          <text x={left - 6} y={y(v) + 4} textAnchor="end" fontSize="11" fill="currentColor">
            {format(v)}
          </text>
        </g>
      ))}
      <text x={14} y={bottom / 2} fontSize="11" fill="currentColor" transform={`rotate(-90 14 ${bottom / 2})`} textAnchor="middle">
        {unit}
      </text>
      <line x1={left} x2={right} y1={bottom} y2={bottom} stroke="currentColor" strokeOpacity={0.5} />
    </>
  );
}

export function BarChart({
  bars,
  title,
  unit,
  summary,
  format = short,
  legend,
  testId,
}: {
  bars: Bar[];
  title: string;
  unit: string;
  summary: string;
  format?: (value: number) => string;
  legend?: { color: string; label: string }[];
  testId?: string;
}) {
  const top = Math.max(1, ...bars.map((b) => b.value));
  const width = (W - PAD.left - PAD.right) / Math.max(1, bars.length);
  const y = (v: number) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  return (
    <Box data-testid={testId}>
      <Flex justify="space-between" align="baseline" wrap="wrap" gap={2}>
        <Text fontSize="sm" fontWeight="semibold">
          {title}
        </Text>
        {legend && (
          <Flex gap={3} fontSize="xs" color="fg.muted">
            {legend.map((l) => (
              <Flex key={l.label} align="center" gap={1}>
                <Box w="10px" h="10px" rounded="sm" style={{ background: l.color }} />
                {l.label}
              </Flex>
            ))}
          </Flex>
        )}
      </Flex>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={summary}>
        <ValueAxis top={top} y={y} left={PAD.left} right={W - PAD.right} bottom={H - PAD.bottom} unit={unit} format={format} />
        {bars.map((b, i) => {
          const x = PAD.left + i * width;
          return (
            <g key={b.key} data-bar={b.key} data-value={b.value}>
              {b.value > 0 && (
                <rect x={x + width * 0.12} width={Math.max(1, width * 0.76)} y={Math.min(y(b.value), H - PAD.bottom - 2)} height={Math.max(2, H - PAD.bottom - y(b.value))} fill={b.color ?? "var(--chakra-colors-blue-500)"}>
                  <title>{b.title}</title>
                </rect>
              )}
              {b.value === 0 && (
                <rect x={x} width={width} y={PAD.top} height={H - PAD.top - PAD.bottom} fill="transparent">
                  <title>{b.title}</title>
                </rect>
              )}
              {b.tick && (
                <>
                  <line x1={x + width / 2} x2={x + width / 2} y1={H - PAD.bottom} y2={H - PAD.bottom + 4} stroke="currentColor" strokeOpacity={0.5} />
                  <text x={x + width / 2} y={H - PAD.bottom + 16} fontSize="11" fill="currentColor" textAnchor="middle">
                    {b.label}
                  </text>
                </>
              )}
            </g>
          );
        })}
      </svg>
    </Box>
  );
}

/** The last `days` UTC days, oldest first, with each day's count (0 when the API lists none). */
export function dayBuckets(counts: { day: string; events: number }[], days: number, now = new Date()): Bar[] {
  const byDay = new Map(counts.map((c) => [c.day, c.events]));
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(today - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10);
    const value = byDay.get(day) ?? 0;
    return { key: day, value, label: day.slice(5), title: `${day}: ${value.toLocaleString()} events`, tick: (days - 1 - i) % 7 === 0 };
  });
}

/** The last `hours` UTC hours up to the current one, oldest first ("YYYY-MM-DDTHH:00" keys). */
export function hourBuckets(counts: { hour: string; events: number }[], hours: number, now = new Date()): Bar[] {
  const byHour = new Map(counts.map((c) => [c.hour, c.events]));
  const current = Math.floor(now.getTime() / 3_600_000) * 3_600_000;
  return Array.from({ length: hours }, (_, i) => {
    const hour = new Date(current - (hours - 1 - i) * 3_600_000).toISOString().slice(0, 13) + ":00";
    const value = byHour.get(hour) ?? 0;
    const midnight = hour.slice(11) === "00:00";
    return { key: hour, value, label: midnight ? hour.slice(5, 10) : hour.slice(11), title: `${hour.replace("T", " ")} UTC: ${value.toLocaleString()} events`, tick: Number(hour.slice(11, 13)) % 6 === 0 };
  });
}

/** "120 events, most on 2026-03-02 (80)": what a chart of counts shows, in words. */
export function countSummary(what: string, bars: Bar[]): string {
  const total = bars.reduce((sum, b) => sum + b.value, 0);
  if (total === 0) return `${what}: none.`;
  const busiest = bars.reduce((best, b) => (b.value > best.value ? b : best), bars[0]);
  return `${what}: ${total.toLocaleString()} in all, most in ${busiest.key.replace("T", " ")} (${busiest.value.toLocaleString()}).`;
}
