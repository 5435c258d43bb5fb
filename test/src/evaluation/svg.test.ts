import { expect } from "chai";
import { barChart, escapeXml, lineChart, tickLabel, ticks } from "../../../src/evaluation/svg";

/** Every tag is closed or self-closing and nested properly (a small well-formedness check). */
function wellFormed(svg: string): boolean {
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0;
}

describe("evaluation/svg", () => {
  it("escapes text for XML", () => {
    expect(escapeXml(`a<b>&"c'`)).to.equal("a&lt;b&gt;&amp;&quot;c&apos;");
  });

  it("labels ticks compactly", () => {
    expect(tickLabel(0)).to.equal("0");
    expect(tickLabel(1500)).to.equal("1.5k");
    expect(tickLabel(2_000_000)).to.equal("2M");
    expect(tickLabel(0.00123)).to.equal("0.0012");
    expect(tickLabel(56.41)).to.equal("56.4");
  });

  it("gives powers of ten on a log axis and round steps on a linear one", () => {
    expect(ticks(1, 10_000, true)).to.deep.equal([1, 10, 100, 1000, 10_000]);
    expect(ticks(0, 100, false)).to.deep.equal([0, 20, 40, 60, 80, 100]);
  });

  it("draws a well-formed line chart with one path and one marker per point", () => {
    const svg = lineChart({
      title: "Gas <per> reading",
      xLabel: "batch",
      yLabel: "gas",
      logX: true,
      logY: true,
      series: [
        { name: "merkle", points: [1, 10, 100].map((x) => ({ x, y: 56_000 / x })) },
        { name: "flat", points: [1, 10, 100].map((x) => ({ x, y: 42_000 })) },
      ],
    });
    expect(svg.startsWith("<svg")).to.equal(true);
    expect(wellFormed(svg)).to.equal(true);
    expect(svg).to.include("Gas &lt;per&gt; reading");
    expect(svg.match(/<path d="M[^"]*" fill="none" stroke="#[0-9a-f]{6}" stroke-width="2"/g)).to.have.length(2);
    expect(svg.match(/<circle /g)).to.have.length(6);
    expect(svg).to.not.include("NaN");
  });

  it("leaves out points a log axis cannot show, and never writes NaN", () => {
    const svg = lineChart({
      title: "t",
      xLabel: "x",
      yLabel: "y",
      logY: true,
      series: [
        {
          name: "s",
          points: [
            { x: 1, y: 0 },
            { x: 2, y: Number.NaN },
            { x: 3, y: 5 },
          ],
        },
      ],
    });
    expect(svg.match(/<circle /g)).to.have.length(1);
    expect(svg).to.not.include("NaN");
    expect(wellFormed(svg)).to.equal(true);
  });

  it("is deterministic", () => {
    const options = { title: "t", xLabel: "x", yLabel: "y", series: [{ name: "s", points: [{ x: 1, y: 2 }] }] };
    expect(lineChart(options)).to.equal(lineChart(options));
  });

  it("draws a bar per value, longer for larger values", () => {
    const svg = barChart({
      title: "bars",
      valueLabel: "ms",
      bars: [
        { label: "small", value: 1 },
        { label: "large", value: 10 },
      ],
    });
    expect(wellFormed(svg)).to.equal(true);
    const widths = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).to.have.length(2);
    expect(widths[1]).to.be.greaterThan(widths[0] * 5);
  });
});
