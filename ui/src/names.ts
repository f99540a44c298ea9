// Names as the pages draw them. The catalog keeps names exactly as sent, so `café` composed and
// decomposed, or a name with a zero-width space, are different datasets that look the same.
// Characters that do not show as themselves are drawn as codes (⟨U+200B⟩) and look-alike names
// are flagged; links and API calls keep using the exact name.

// Controls, surrogates, default-ignorable characters (zero-width characters, bidi controls,
// variation selectors, tags, fillers), line separators, interlinear annotation controls, the
// Braille blank, every space but U+0020, and U+0020 at either end of a name ("orders " and
// " orders" draw as "orders"). The server's search folds away the invisible ones (events/naming.py).
const MARKED = /(?! )\p{Zs}|(?<=^ *) | (?= *$)|[\p{Cc}\p{Cs}\p{Default_Ignorable_Code_Point}\u2028\u2029\u2800\uFFF9-\uFFFB]/gu;
const HAS_MARKED = new RegExp(MARKED.source, "u");
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const CHARACTER_NAMES: Record<number, string> = {
  0x0020: "SPACE at an end of the name",
  0x00a0: "NO-BREAK SPACE",
  0x00ad: "SOFT HYPHEN",
  0x061c: "ARABIC LETTER MARK",
  0x200b: "ZERO WIDTH SPACE",
  0x200c: "ZERO WIDTH NON-JOINER",
  0x200d: "ZERO WIDTH JOINER",
  0x200e: "LEFT-TO-RIGHT MARK",
  0x200f: "RIGHT-TO-LEFT MARK",
  0x202a: "LEFT-TO-RIGHT EMBEDDING",
  0x202b: "RIGHT-TO-LEFT EMBEDDING",
  0x202c: "POP DIRECTIONAL FORMATTING",
  0x202d: "LEFT-TO-RIGHT OVERRIDE",
  0x202e: "RIGHT-TO-LEFT OVERRIDE",
  0x2060: "WORD JOINER",
  0x2066: "LEFT-TO-RIGHT ISOLATE",
  0x2067: "RIGHT-TO-LEFT ISOLATE",
  0x2068: "FIRST STRONG ISOLATE",
  0x2069: "POP DIRECTIONAL ISOLATE",
  0x2800: "BRAILLE PATTERN BLANK",
  0xfeff: "ZERO WIDTH NO-BREAK SPACE",
};

export interface NamePart {
  text: string;
  /** A character drawn as its code: `text` is "U+200B". */
  marked: boolean;
}

export function codeOf(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Nothing to show or to flag: the name draws as itself (most names, checked cheaply). */
export function isPlainName(name: string): boolean {
  if (PRINTABLE_ASCII.test(name) && !name.startsWith(" ") && !name.endsWith(" ")) return true;
  return !HAS_MARKED.test(name) && name.normalize("NFC") === name;
}

/** The name in runs of text and marked characters, in the order sent. */
export function nameParts(name: string): NamePart[] {
  const parts: NamePart[] = [];
  let last = 0;
  for (const match of name.matchAll(MARKED)) {
    if (match.index > last) parts.push({ text: name.slice(last, match.index), marked: false });
    parts.push({ text: codeOf(match[0]), marked: true });
    last = match.index + match[0].length;
  }
  if (last < name.length) parts.push({ text: name.slice(last), marked: false });
  return parts;
}

const spelled = (character: string): string => (/^[\x21-\x7e]$/.test(character) ? character : codeOf(character));

/** What makes the name a look-alike, in words; empty for a plain name. */
export function lookAlikeFindings(name: string): string[] {
  if (isPlainName(name)) return [];
  const counts = new Map<string, number>();
  for (const match of name.matchAll(MARKED)) counts.set(match[0], (counts.get(match[0]) ?? 0) + 1);
  const found = [...counts].map(([c, n]) => {
    const known = CHARACTER_NAMES[c.codePointAt(0)!];
    return `${codeOf(c)}${known ? ` ${known}` : ""}${n > 1 ? ` ×${n}` : ""}`;
  });
  if (name.normalize("NFC") !== name) {
    // Each letter with its combining marks that NFC writes otherwise, e.g. "é sent as e + U+0301".
    const changed = [...name.matchAll(/\P{M}\p{M}*|\p{M}+/gu)].map((m) => m[0]).filter((c) => c.normalize("NFC") !== c);
    const examples = changed.slice(0, 3).map((c) => `${c.normalize("NFC")} sent as ${[...c].map(spelled).join(" + ")}`);
    found.push(`not in Unicode NFC${examples.length ? `: ${examples.join(", ")}` : ""}`);
  }
  return found;
}

/** The tooltip of a look-alike name's ⚠. */
export function lookAlikeWarning(findings: string[]): string {
  return `Look-alike name: ${findings.join("; ")}. Another name can look the same.`;
}

/** The name as plain text (tooltips, select options, exported images): codes as ⟨U+200B⟩, ⚠ on a look-alike. */
export function plainName(name: string): string {
  if (isPlainName(name)) return name;
  return `${nameParts(name)
    .map((p) => (p.marked ? `⟨${p.text}⟩` : p.text))
    .join("")} ⚠`;
}
