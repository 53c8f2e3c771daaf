/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: it throws on the first
 * line that breaks the grammar or the rules a scraper relies on (HELP/TYPE before a family's samples,
 * samples of a family contiguous, no duplicate series, well-formed histograms).
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help?: string;
  type?: MetricType;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(\\{.*\\})? (\\S+)( -?[0-9]+)?$`);
// Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
const VALUE = /^(nan|[+-]?inf|[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(e[+-]?[0-9]+)?)$/i;

function parseValue(text: string, line: number): number {
  if (!VALUE.test(text)) throw new Error(`line ${line}: bad sample value ${JSON.stringify(text)}`);
  const lower = text.toLowerCase();
  if (lower === "nan") return Number.NaN;
  if (lower === "inf" || lower === "+inf") return Number.POSITIVE_INFINITY;
  if (lower === "-inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Parses `{a="x",b="y"}` with the format's escapes (`\\`, `\"`, `\n`). */
function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  const end = text.length - 1; // the closing "}"
  while (i < end) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value of ${name} is not quoted`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = text[j];
      if (c === undefined || j >= end) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const next = text[j + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`line ${line}: bad escape \\${next}`);
        j += 2;
        continue;
      }
      if (c === "\n") throw new Error(`line ${line}: raw newline in label value`);
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (i !== end) throw new Error(`line ${line}: expected "," or "}" after label ${name}`);
  }
  return labels;
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sampleName);
  if (exact !== undefined) return exact;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sampleName.endsWith(suffix)) continue;
    const f = families.get(sampleName.slice(0, -suffix.length));
    if (f?.type === "histogram" || (f?.type === "summary" && suffix !== "_bucket")) return f;
  }
  return undefined;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      entry.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) entry.count = s.value;
    else if (s.name !== `${f.name}_sum`) throw new Error(`${f.name}: unexpected sample ${s.name}`);
  }
  for (const { buckets, count } of series.values()) {
    const last = buckets.at(-1);
    if (last === undefined || last[0] !== Number.POSITIVE_INFINITY)
      throw new Error(`${f.name}: no +Inf bucket`);
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i]![0] <= buckets[i - 1]![0]) throw new Error(`${f.name}: buckets not ascending`);
      if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${f.name}: buckets not cumulative`);
    }
    if (count !== last[1])
      throw new Error(`${f.name}: _count ${count} differs from the +Inf bucket ${last[1]}`);
  }
}

/** Parses an exposition, or throws naming the offending line. */
export function parseExposition(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("exposition does not end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    if (raw.startsWith("#")) {
      const help = HELP_LINE.exec(raw);
      const type = TYPE_LINE.exec(raw);
      const name = help?.[1] ?? type?.[1];
      if (name === undefined) {
        if (/^# (HELP|TYPE)/.test(raw)) throw new Error(`line ${line}: malformed ${raw.slice(2, 6)} line`);
        return; // a plain comment
      }
      if (closed.has(name)) throw new Error(`line ${line}: ${name} appears again after other families`);
      let f = families.get(name);
      if (f === undefined) {
        f = { name, samples: [] };
        families.set(name, f);
      }
      if (current !== undefined && current !== f) closed.add(current.name);
      current = f;
      if (f.samples.length > 0) throw new Error(`line ${line}: HELP/TYPE of ${name} after its samples`);
      if (help !== null) {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(help[2]!.replace(/\\\\/g, "")))
          throw new Error(`line ${line}: bad escape in HELP`);
        f.help = help[2]!;
      } else {
        if (f.type !== undefined) throw new Error(`line ${line}: second TYPE for ${name}`);
        f.type = type![2] as MetricType;
      }
      return;
    }
    const m = SAMPLE_LINE.exec(raw);
    if (m === null) throw new Error(`line ${line}: not a sample: ${JSON.stringify(raw)}`);
    const name = m[1]!;
    const f = familyOf(name, families);
    if (f === undefined) throw new Error(`line ${line}: sample ${name} has no preceding HELP/TYPE`);
    if (f !== current) throw new Error(`line ${line}: sample ${name} is not with the rest of ${f.name}`);
    if (f.help === undefined || f.type === undefined)
      throw new Error(`line ${line}: ${f.name} lacks HELP or TYPE`);
    const labels = m[2] === undefined ? {} : parseLabels(m[2], line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${line}: duplicate series ${name}`);
    seen.add(key);
    const value = parseValue(m[3]!, line);
    if (f.type === "counter" && !(value >= 0)) throw new Error(`line ${line}: negative counter ${name}`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** The value of one series, or undefined. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(labels);
      if (keys.length === Object.keys(s.labels).length && keys.every((k) => s.labels[k] === labels[k])) {
        return s.value;
      }
    }
  }
  return undefined;
}
