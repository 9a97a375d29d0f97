// Messages per minute as a small uPlot chart (≈50 KB, canvas, made for time series that update in place):
// the chart is created once and handed new data on each poll, and follows its container's width.
import { useElementSize } from '@mantine/hooks';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface Throughput {
  /** Minute starts, in seconds since the epoch (uPlot's time axis). */
  minutes: number[];
  counts: number[];
}

export function ThroughputChart({ data, label }: { data: Throughput; label: string }) {
  const { ref: box, width } = useElementSize();
  const target = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>(null);

  // Recreated only when the width changes; new data goes through setData in the effect below.
  // biome-ignore lint/correctness/useExhaustiveDependencies: data is applied by the effect below
  useEffect(() => {
    if (!target.current || width === 0) return;
    const options: uPlot.Options = {
      width,
      height: 180,
      scales: { y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.2))] } },
      axes: [{}, { label: 'per minute', size: 50 }],
      series: [
        {},
        { label: 'messages', stroke: '#4c6ef5', fill: 'rgba(76, 110, 245, 0.15)', width: 2, points: { show: false } },
      ],
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(options, [data.minutes, data.counts], target.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [width]);

  useEffect(() => {
    plot.current?.setData([data.minutes, data.counts]);
  }, [data]);

  return (
    <div ref={box} role="img" aria-label={label}>
      <div ref={target} />
    </div>
  );
}
