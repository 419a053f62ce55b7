// Test helpers: count what vega drew in an SVG, and read a PNG header, without a DOM.
export function countMarkGroups(svg: string, markType: string): number {
  return (svg.match(new RegExp(`<g class="mark-${markType} role-mark[ "]`, 'g')) ?? []).length;
}

/** Number of <path> items inside the role-mark groups of one mark type (one per point/bar). */
export function countMarkItems(svg: string, markType: string): number {
  const groups = svg.match(new RegExp(`<g class="mark-${markType} role-mark[^"]*"[^>]*>(.*?)</g>`, 'g')) ?? [];
  return groups.reduce((n, g) => n + (g.match(/<path/g) ?? []).length, 0);
}

export function legendLabels(svg: string): string[] {
  return [...svg.matchAll(/role-legend-label"[^>]*><text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

export function axisTitles(svg: string): string[] {
  return [...svg.matchAll(/role-axis-title"[^>]*><text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

export function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  if (!m) throw new Error('no width/height on the <svg> element');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Width and height from the PNG IHDR chunk (bytes 16..23 after the 8-byte signature and chunk header). */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  if (png.subarray(12, 16).toString('latin1') !== 'IHDR') throw new Error('PNG without IHDR first');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Non-white pixels of RGBA data in the rows [y0, y1). */
export function inkInRows(pixels: Buffer, width: number, y0: number, y1: number): number {
  let ink = 0;
  for (let i = y0 * width * 4; i < y1 * width * 4; i += 4) if (pixels[i] < 200 || pixels[i + 1] < 200 || pixels[i + 2] < 200) ink++;
  return ink;
}
