// Export the graph on screen: JSON (nodes, edges, positions), SVG drawn from the layout, PNG from that SVG.
import { NODE_HEIGHT, NODE_WIDTH, type Placed } from "./components/LineageGraph";
import { plainName } from "./names";

export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);

const FONT = "Inter, Helvetica, Arial, sans-serif";
let measure: CanvasRenderingContext2D | null = null;

/** The text cut to fit `width` pixels in this font, with an ellipsis when cut (measured, not guessed
 * from a character count: wide letters and CJK names would run out of their box). */
export function fitText(text: string, font: string, width: number): string {
  measure ??= document.createElement("canvas").getContext("2d");
  if (!measure) return text.slice(0, Math.floor(width / 8));
  measure.font = font;
  if (measure.measureText(text).width <= width) return text;
  const chars = [...text]; // by code point: a cut never splits a character
  let [low, high] = [0, chars.length];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure.measureText(`${chars.slice(0, mid).join("")}…`).width <= width) low = mid;
    else high = mid - 1;
  }
  return `${chars.slice(0, low).join("")}…`;
}

export function graphJson(placed: Placed): object {
  return {
    nodes: placed.nodes.map((n) => ({ id: n.id, type: n.data.node.type, ...n.data.node.data, x: n.position.x, y: n.position.y })),
    edges: placed.edges.map((e) => ({ origin: e.source, destination: e.target })),
  };
}

export function graphSvg(placed: Placed, dark: boolean): string {
  const pad = 20;
  const xs = placed.nodes.map((n) => n.position.x);
  const ys = placed.nodes.map((n) => n.position.y);
  const minX = Math.min(0, ...xs) - pad;
  const minY = Math.min(0, ...ys) - pad;
  const width = Math.max(...xs.map((x) => x + NODE_WIDTH), 0) - minX + pad;
  const height = Math.max(...ys.map((y) => y + NODE_HEIGHT), 0) - minY + pad;
  const at = new Map(placed.nodes.map((n) => [n.id, n.position]));
  const fg = dark ? "#F8FAFD" : "#161D2D";
  const bg = dark ? "#161D2D" : "#FFFFFF";
  const edges = placed.edges
    .map((e) => {
      const s = at.get(e.source);
      const t = at.get(e.target);
      if (!s || !t) return "";
      const x1 = s.x + NODE_WIDTH - minX;
      const y1 = s.y + NODE_HEIGHT / 2 - minY;
      const x2 = t.x - minX;
      const y2 = t.y + NODE_HEIGHT / 2 - minY;
      const mid = (x1 + x2) / 2;
      return `<path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" fill="none" stroke="#8a94a6" stroke-width="1.2" marker-end="url(#arrow)"/>`;
    })
    .join("");
  const nodes = placed.nodes
    .map((n) => {
      const x = n.position.x - minX;
      const y = n.position.y - minY;
      const radius = n.data.node.type === "JOB" ? 6 : 16;
      const room = NODE_WIDTH - 24;
      const status = n.data.status.map((part) => plainName(part.text)).join(" · ");
      return (
        `<g><rect x="${x}" y="${y}" width="${NODE_WIDTH}" height="${NODE_HEIGHT}" rx="${radius}" fill="${bg}" stroke="${escapeXml(n.data.color)}" stroke-width="2"/>` +
        `<text x="${x + 12}" y="${y + 19}" font-size="12" font-weight="600" fill="${fg}">${escapeXml(fitText(plainName(n.data.label), `600 12px ${FONT}`, room))}</text>` +
        `<text x="${x + 12}" y="${y + 35}" font-size="10" fill="#8a94a6">${escapeXml(fitText(plainName(n.data.sublabel), `10px ${FONT}`, room))}</text>` +
        (status ? `<text x="${x + 12}" y="${y + 51}" font-size="10" fill="${fg}">${escapeXml(fitText(status, `10px ${FONT}`, room))}</text>` : "") +
        `</g>`
      );
    })
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a6"/></marker></defs>` +
    `<rect width="100%" height="100%" fill="${bg}"/>${edges}${nodes}</svg>`
  );
}

export function exportJson(placed: Placed, name: string): void {
  download(`${name}.json`, new Blob([JSON.stringify(graphJson(placed), null, 2)], { type: "application/json" }));
}

export function exportSvg(placed: Placed, name: string, dark: boolean): void {
  download(`${name}.svg`, new Blob([graphSvg(placed, dark)], { type: "image/svg+xml" }));
}

export function exportPng(placed: Placed, name: string, dark: boolean): void {
  const svg = graphSvg(placed, dark);
  const image = new Image();
  image.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.getContext("2d")!.drawImage(image, 0, 0);
    canvas.toBlob((blob) => blob && download(`${name}.png`, blob), "image/png");
  };
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
