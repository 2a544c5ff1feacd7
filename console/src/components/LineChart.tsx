import { useEffect, useId, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

/**
 * A time series chart (uPlot, canvas) with its data also as a table, since a canvas says nothing
 * to a screen reader. Days without data are gaps, not zeros.
 */
export function LineChart({ title, unit, days, series, max }: { title: string; unit: string; days: string[]; series: Series[]; max?: number }) {
  const container = useRef<HTMLDivElement>(null);
  const id = useId();
  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const xs = days.map((d) => Date.parse(`${d}T12:00:00Z`) / 1000);
    const opts: uPlot.Options = {
      width: Math.max(260, el.clientWidth),
      height: 220,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, points: { size: 5 } }))],
      axes: [
        { stroke: "#3d4451", grid: { stroke: "#e4e7ec" } },
        { stroke: "#3d4451", grid: { stroke: "#e4e7ec" }, label: unit, size: 56 },
      ],
      scales: { x: { time: true }, ...(max !== undefined ? { y: { range: [0, max] as uPlot.Range.MinMax } } : {}) },
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    const chart = new uPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(260, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [days, series, unit, max]);
  return (
    <figure className="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      <div ref={container} className="chart-canvas" aria-hidden="true" />
      <details>
        <summary>{title}: the data as a table</summary>
        <div className="table-wrap" tabIndex={0} role="region" aria-label={`${title}: data`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label} ({unit})
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {days.map((d, i) => (
                <tr key={d}>
                  <th scope="row">{d}</th>
                  {series.map((s) => (
                    <td key={s.label}>{s.values[i] ?? "—"}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
