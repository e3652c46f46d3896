// Ampule's icon, drawn in code (a sealed glass ampule, half full): one source for the tray icon
// at run time and for the packaged app icons (build/icons/make-icons.ts). Pure: returns pixels.

export type Rgba = readonly [number, number, number, number];

export const ICON_GLASS: Rgba = [38, 166, 154, 255];
export const ICON_LIQUID: Rgba = [178, 235, 228, 255];

/** Coverage of the glass (1) and liquid (2) at a point in unit coordinates, or 0 outside. */
function shapeAt(x: number, y: number): 0 | 1 | 2 {
  const cx = 0.5;
  const bulbY = 0.64;
  const bulbR = 0.3;
  const inBulb = (x - cx) ** 2 + (y - bulbY) ** 2 <= bulbR ** 2;
  const inNeck = Math.abs(x - cx) <= 0.085 && y >= 0.2 && y <= bulbY;
  const inTip = Math.abs(x - cx) <= 0.045 && y >= 0.05 && y <= 0.2;
  if (!inBulb && !inNeck && !inTip) return 0;
  // The liquid: inside the bulb, below its centre, inset from the glass.
  const inset = (x - cx) ** 2 + (y - bulbY) ** 2 <= (bulbR - 0.07) ** 2;
  return inset && y >= bulbY - 0.04 ? 2 : 1;
}

/** RGBA pixels, row-major, antialiased by 4×4 supersampling. */
export function drawIcon(size: number, glass: Rgba = ICON_GLASS, liquid: Rgba = ICON_LIQUID): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const s = shapeAt((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size);
          if (s === 0) continue;
          const c = s === 1 ? glass : liquid;
          const w = c[3] / 255;
          r += c[0] * w; g += c[1] * w; b += c[2] * w; a += w;
        }
      }
      const i = (py * size + px) * 4;
      if (a > 0) {
        out[i] = Math.round(r / a);
        out[i + 1] = Math.round(g / a);
        out[i + 2] = Math.round(b / a);
      }
      out[i + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  return out;
}

/** Electron's nativeImage.createFromBitmap wants BGRA. */
export function rgbaToBgra(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    out[i] = rgba[i + 2]!;
    out[i + 1] = rgba[i + 1]!;
    out[i + 2] = rgba[i]!;
    out[i + 3] = rgba[i + 3]!;
  }
  return out;
}
