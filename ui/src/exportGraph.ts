// Export the graph on screen: JSON (nodes, edges, positions), SVG drawn from the layout, PNG from that SVG.
import { NODE_HEIGHT, NODE_WIDTH, ROW_HEIGHT, type NodeData, type Placed } from "./components/LineageGraph";
import { MASKED_COLOR } from "./nodeStatus";
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

/** How wide the text is drawn in this font, in pixels (a guess of 8 per character without a canvas). */
function widthOf(text: string, font: string): number {
  measure ??= document.createElement("canvas").getContext("2d");
  if (!measure) return [...text].length * 8;
  measure.font = font;
  return measure.measureText(text).width;
}

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
  const columnOf = new Map(placed.nodes.flatMap((n) => (n.data.rowHandles ? (n.data.rows ?? []).map((row, i): [string, string] => [`${n.id} ${i}`, row.id]) : [])));
  const column = (node: string, handle: string | null | undefined) => (handle ? (columnOf.get(`${node} ${handle.slice(handle.indexOf("-") + 1)}`) ?? null) : null);
  return {
    nodes: placed.nodes.map((n) =>
      n.data.rowHandles
        ? // A column-lineage card: the dataset and its columns, with what became of each.
          { id: n.id, type: "DATASET", namespace: n.data.sublabel, name: n.data.label, columns: (n.data.rows ?? []).map((r) => ({ id: r.id, field: r.field, type: r.fieldType, evolution: r.evolution, masked: r.masked })), x: n.position.x, y: n.position.y }
        : { id: n.id, type: n.data.node.type, ...n.data.node.data, x: n.position.x, y: n.position.y },
    ),
    edges: placed.edges.map((e) => {
      const [from, to] = [column(e.source, e.sourceHandle), column(e.target, e.targetHandle)];
      return from && to ? { origin: from, destination: to, ...(e.data as object) } : { origin: e.source, destination: e.target };
    }),
  };
}

export function graphSvg(placed: Placed, dark: boolean): string {
  const pad = 20;
  const xs = placed.nodes.map((n) => n.position.x);
  const ys = placed.nodes.map((n) => n.position.y);
  const minX = Math.min(0, ...xs) - pad;
  const minY = Math.min(0, ...ys) - pad;
  const width = Math.max(...xs.map((x) => x + NODE_WIDTH), 0) - minX + pad;
  const height = Math.max(...placed.nodes.map((n) => n.position.y + (n.height ?? NODE_HEIGHT)), 0) - minY + pad;
  const at = new Map(placed.nodes.map((n) => [n.id, n]));
  /** Where an edge meets a node: the middle of its side, or of the column row its handle is on (`in-3`, `out-3`). */
  const endY = (node: { position: { y: number }; data: NodeData; height?: number }, handle: string | null | undefined) => {
    const row = handle ? Number(handle.slice(handle.indexOf("-") + 1)) : NaN;
    return node.position.y - minY + (Number.isNaN(row) ? Math.min(node.height ?? NODE_HEIGHT, NODE_HEIGHT) / 2 : node.data.rowTop + (row + 0.5) * ROW_HEIGHT);
  };
  const fg = dark ? "#F8FAFD" : "#161D2D";
  const bg = dark ? "#161D2D" : "#FFFFFF";
  const edges = placed.edges
    .map((e) => {
      const s = at.get(e.source);
      const t = at.get(e.target);
      if (!s || !t) return "";
      const x1 = s.position.x + NODE_WIDTH - minX;
      const y1 = endY(s, e.sourceHandle);
      const x2 = t.position.x - minX;
      const y2 = endY(t, e.targetHandle);
      const mid = (x1 + x2) / 2;
      const column = e.data as { direct?: boolean; masked?: boolean } | undefined;
      const stroke = column?.masked ? MASKED_COLOR : "#8a94a6";
      const dash = column && !column.direct ? ` stroke-dasharray="5 4"` : "";
      return `<path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" fill="none" stroke="${stroke}" stroke-width="1.2"${dash} marker-end="url(#arrow)"/>`;
    })
    .join("");
  const nodes = placed.nodes
    .map((n) => {
      const x = n.position.x - minX;
      const y = n.position.y - minY;
      const radius = n.data.node.type === "JOB" ? 6 : 16;
      const room = NODE_WIDTH - 24;
      const status = n.data.status.map((part) => plainName(part.text)).join(" · ");
      const rows = (n.data.rows ?? [])
        .map((row, i) => {
          const top = y + n.data.rowTop + i * ROW_HEIGHT;
          // What became of the column, right-aligned; the name gets the rest of the row.
          const tags = fitText([row.masked ? "masked" : "", row.evolution && row.evolution !== "source" ? row.evolution : ""].filter(Boolean).join(" · "), `10px ${FONT}`, room * 0.6);
          const nameRoom = tags ? room - widthOf(tags, `10px ${FONT}`) - 8 : room;
          return (
            `<line x1="${x}" y1="${top}" x2="${x + NODE_WIDTH}" y2="${top}" stroke="#d4d8e0"/>` +
            `<text x="${x + 12}" y="${top + 15}" font-size="11" fill="${fg}">${escapeXml(fitText(plainName(row.field || "(whole dataset)"), `11px ${FONT}`, nameRoom))}</text>` +
            (tags ? `<text x="${x + NODE_WIDTH - 8}" y="${top + 15}" font-size="10" fill="#8a94a6" text-anchor="end">${escapeXml(tags)}</text>` : "")
          );
        })
        .join("");
      return (
        `<g><rect x="${x}" y="${y}" width="${NODE_WIDTH}" height="${n.height ?? NODE_HEIGHT}" rx="${n.data.rows ? 6 : radius}" fill="${bg}" stroke="${escapeXml(n.data.color)}" stroke-width="2"/>` +
        `<text x="${x + 12}" y="${y + 19}" font-size="12" font-weight="600" fill="${fg}">${escapeXml(fitText(plainName(n.data.label), `600 12px ${FONT}`, room))}</text>` +
        `<text x="${x + 12}" y="${y + 35}" font-size="10" fill="#8a94a6">${escapeXml(fitText(plainName(n.data.sublabel), `10px ${FONT}`, room))}</text>` +
        (status ? `<text x="${x + 12}" y="${y + 51}" font-size="10" fill="${fg}">${escapeXml(fitText(status, `10px ${FONT}`, room))}</text>` : "") +
        rows +
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
