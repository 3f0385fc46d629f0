/**
 * HTML by tagged template: every interpolated string is escaped unless it is already `Html`, so
 * a model named `<script>` is text wherever it lands, element or attribute, without each call
 * site remembering to escape.
 */

export interface Html {
  readonly html: string
}

export type HtmlValue = Html | string | number | null | undefined | false | ReadonlyArray<HtmlValue>

const ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char)

/** Trusted markup, for the page's own constant CSS only. */
export const trusted = (text: string): Html => ({ html: text })

const isHtml = (value: HtmlValue): value is Html => typeof value === "object" && value !== null && !Array.isArray(value)

const render = (value: HtmlValue): string => {
  if (value === null || value === undefined || value === false) return ""
  if (typeof value === "string") return escapeHtml(value)
  if (typeof value === "number") {
    // A NaN in an SVG coordinate silently moves a point to the origin; fail where it is made.
    if (!Number.isFinite(value)) throw new Error(`non-finite number in HTML: ${value}`)
    return String(value)
  }
  if (isHtml(value)) return value.html
  return value.map(render).join("")
}

export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<HtmlValue>): Html => {
  let out = strings[0] ?? ""
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "")
  return { html: out }
}
