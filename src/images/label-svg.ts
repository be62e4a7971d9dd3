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

export interface Badge {
  x: number;
  y: number;
  text: string;
  /** Badge height in pixels. */
  size: number;
}

export function badgeSvg(width: number, height: number, badges: Badge[]): Buffer {
  const parts = badges.map((b) => {
    const fontSize = Math.round(b.size * 0.62);
    const padX = Math.round(b.size * 0.3);
    const w = Math.max(b.size, Math.round(fontSize * CHAR_WIDTH * [...b.text].length + padX * 2));
    const r = Math.round(b.size * 0.3);
    return (
      `<g><rect x="${b.x}" y="${b.y}" width="${w}" height="${b.size}" rx="${r}" ry="${r}" fill="#000000" fill-opacity="0.62"/>` +
      `<text x="${b.x + w / 2}" y="${b.y + b.size / 2}" font-family="${LABEL_FONT}" font-weight="bold" font-size="${fontSize}" ` +
      `fill="#ffffff" text-anchor="middle" dominant-baseline="central">${escapeXml(b.text)}</text></g>`
    );
  });
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`);
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
