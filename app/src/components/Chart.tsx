import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
  readonly dash?: number[];
}

/** A time-series chart (uPlot), as wide as its container; `times` in unix seconds. */
export function Chart(props: {
  title: string;
  times: readonly number[];
  series: readonly ChartSeries[];
  unit: string;
}) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const width = () => Math.max(element.clientWidth, 260);
    const plot = new uPlot(
      {
        title: props.title,
        width: width(),
        height: 260,
        scales: { x: { time: true } },
        axes: [{ stroke: "#333" }, { stroke: "#333", label: props.unit, size: 60 }],
        series: [
          { label: "time (UTC)" },
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(s.dash !== undefined && { dash: s.dash }),
            spanGaps: false,
          })),
        ],
        tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      },
      [props.times as number[], ...props.series.map((s) => s.values as (number | null)[])],
      element,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [props.times, props.series, props.title, props.unit]);
  return (
    <div class="chart" ref={holder} role="img" aria-label={`${props.title}, chart of ${props.times.length} points`} />
  );
}
