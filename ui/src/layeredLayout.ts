// A fast layered (left-to-right) layout for big graphs, where ELK's quality costs seconds:
// layers by longest path from the sources, order within a layer by the barycentre of the
// neighbours in the layer before (two sweeps), rows evenly spaced and centred. Linear in nodes
// and edges; cycles (rare in lineage) are broken where the walk meets them.

export interface Box {
  x: number;
  y: number;
}

export function layeredLayout(ids: string[], edges: { source: string; target: string }[], width: number, heightOf: (id: string) => number, gapX = 70, gapY = 18): Map<string, Box> {
  const incoming = new Map<string, string[]>(ids.map((id) => [id, []]));
  const outgoing = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (incoming.has(e.target) && outgoing.has(e.source)) {
      incoming.get(e.target)!.push(e.source);
      outgoing.get(e.source)!.push(e.target);
    }
  }
  // Longest-path layers, in topological order (Kahn); nodes left in cycles go after their placed predecessors.
  const layer = new Map<string, number>();
  const waiting = new Map(ids.map((id) => [id, incoming.get(id)!.length]));
  const queue = ids.filter((id) => waiting.get(id) === 0);
  for (let i = 0; i < queue.length || layer.size < ids.length; i++) {
    if (i >= queue.length) {
      const stuck = ids.find((id) => !layer.has(id) && !queue.includes(id))!;
      queue.push(stuck);
    }
    const id = queue[i];
    const depth = Math.max(-1, ...incoming.get(id)!.filter((p) => layer.has(p)).map((p) => layer.get(p)!)) + 1;
    layer.set(id, depth);
    for (const next of outgoing.get(id)!) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0 && !layer.has(next)) queue.push(next);
    }
  }
  const layers: string[][] = [];
  for (const id of ids) (layers[layer.get(id)!] ??= []).push(id);
  // Order: barycentre of predecessors' positions, then of successors', for fewer crossings.
  const position = new Map<string, number>();
  layers.forEach((row) => row.forEach((id, i) => position.set(id, i)));
  const sweep = (rows: string[][], neighbours: Map<string, string[]>) => {
    for (const row of rows) {
      const score = new Map(row.map((id) => {
        const around = neighbours.get(id)!.filter((n) => position.has(n));
        return [id, around.length ? around.reduce((sum, n) => sum + position.get(n)!, 0) / around.length : position.get(id)!];
      }));
      row.sort((a, b) => score.get(a)! - score.get(b)!);
      row.forEach((id, i) => position.set(id, i));
    }
  };
  sweep(layers.slice(1), incoming);
  sweep(layers.slice(0, -1).reverse(), outgoing);
  // Each layer a column of nodes (each as tall as it is), the columns centred on the tallest.
  const extent = (row: string[]) => row.reduce((sum, id) => sum + heightOf(id) + gapY, 0);
  const tallest = Math.max(...layers.map(extent));
  const boxes = new Map<string, Box>();
  layers.forEach((row, depth) => {
    let y = (tallest - extent(row)) / 2;
    for (const id of row) {
      boxes.set(id, { x: depth * (width + gapX), y });
      y += heightOf(id) + gapY;
    }
  });
  return boxes;
}
