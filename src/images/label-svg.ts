/**
 * SVG overlays Easel draws itself (gallery badges, strip captions). Only SVG generated here is ever
 * rendered; user uploads in SVG are refused at intake. Label text is escaped, so a label such as
 * `<script>` or `"/><image href="file:///...` is drawn as plain characters.
 */

/** Fonts tried in order; DejaVu ships with most Linux images (install fonts-dejavu-core in containers). */
export const LABEL_FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";

export function escapeXml(text: string): string {
  return (
    text
      // Control characters are not allowed in XML 1.0 at all.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** Keep labels short enough to fit their tile; long ones end with an ellipsis. */
export function clampLabel(text: string, maxChars: number): string {
  const chars = [...text.replace(/\s+/g, ' ').trim()];
  return chars.length <= maxChars ? chars.join('') : `${chars.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

/** Rough advance width of DejaVu Sans Bold at font size 1 (wide enough for digits and most letters). */
export const CHAR_WIDTH = 0.68;

/**
 * One badge (dark rounded plate, white bold text) as a small SVG of its own size, to composite at the
 * tile's corner. Clipped to maxWidth × maxHeight so it never spills outside its tile.
 */
export function badgeSvg(text: string, size: number, maxWidth: number, maxHeight: number): Buffer {
  const fontSize = Math.round(size * 0.62);
  const padX = Math.round(size * 0.3);
  const w = Math.max(1, Math.min(maxWidth, Math.max(size, Math.round(fontSize * CHAR_WIDTH * [...text].length + padX * 2))));
  const h = Math.max(1, Math.min(maxHeight, size));
  const r = Math.round(size * 0.3);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
      `<rect x="0" y="0" width="${w}" height="${size}" rx="${r}" ry="${r}" fill="#000000" fill-opacity="0.62"/>` +
      `<text x="${w / 2}" y="${size / 2}" font-family="${LABEL_FONT}" font-weight="bold" font-size="${fontSize}" ` +
      `fill="#ffffff" text-anchor="middle" dominant-baseline="central">${escapeXml(text)}</text></svg>`,
  );
}

export interface Caption {
  /** Centre of the caption. */
  cx: number;
  cy: number;
  text: string;
  fontSize: number;
}

export function captionSvg(width: number, height: number, captions: Caption[], colour = '#f2f3f5'): Buffer {
  const parts = captions.map(
    (c) =>
      `<text x="${c.cx}" y="${c.cy}" font-family="${LABEL_FONT}" font-size="${c.fontSize}" fill="${colour}" ` +
      `text-anchor="middle" dominant-baseline="central">${escapeXml(c.text)}</text>`,
  );
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`);
}
