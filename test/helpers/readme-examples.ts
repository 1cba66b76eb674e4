/**
 * The README's shell examples as one script, run in order as a user pastes them into one
 * terminal: exports carry over, servers a block starts in the background keep running.
 *
 * What the README may say to this reader, on the line before a block:
 *   <!-- example: skip REASON -->   not run here (a second machine, Docker, a fixed install step)
 *   <!-- example: slow REASON -->   run only with MODELPORT_README_SLOW=1
 * and on a command line, a trailing comment `# exits N` means the command must exit N, and
 * `# answers 4xx` that the HTTP call must fail. Every other curl must answer 2xx (--fail-with-body).
 * Ports 5000 and 8765 in the text become free ports, so a busy machine's servers do not collide.
 */
export interface Example {
  line: number;
  lang: string;
  code: string;
  skip?: string;
  slow?: string;
}

const MARK = /^<!--\s*example:\s*(skip|slow)\s+(.*?)\s*-->\s*$/;

export function extractExamples(readme: string): Example[] {
  const lines = readme.split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    const lang = open[1];
    if (lang === 'sh' || lang === 'bash') {
      const mark = MARK.exec(lines[start - 1] ?? '') ?? MARK.exec(lines[start - 2] ?? '');
      const example: Example = { line: start + 2, lang, code: lines.slice(start + 1, end).join('\n') };
      if (mark) example[mark[1] as 'skip' | 'slow'] = mark[2];
      out.push(example);
    }
    i = end;
  }
  return out;
}

/**
 * A command whose last line's trailing comment says `# exits N` (lines continued with a
 * backslash are one command) becomes `if CMD; then fail; else check $? = N; fi`.
 */
function expectExits(code: string): string {
  const out: string[] = [];
  let pending: string[] = [];
  for (const line of code.split('\n')) {
    pending.push(line);
    if (line.trimEnd().endsWith('\\')) continue;
    const m = /^(.*?\S)\s+#\s*(?:exits (\d+)|answers ([45]\d\d))\b.*$/.exec(line);
    if (m) {
      const command = [...pending.slice(0, -1), m[1]].join('\n');
      // curl --fail-with-body exits 22 on an HTTP error.
      const exit = m[2] ?? '22';
      out.push(`if ${command}; then echo "expected exit ${exit}, got 0" >&2; false; else s=$?; [ "$s" -eq ${exit} ] || { echo "expected exit ${exit}, got $s" >&2; false; }; fi`);
    } else out.push(...pending);
    pending = [];
  }
  return [...out, ...pending].join('\n');
}

export interface ScriptOptions {
  repo: string;
  /** The command that runs modelport's CLI (the built bin, or the sources through tsx). */
  cli: string;
  ports: { main: number; second: number };
  slow: boolean;
}

export function examplesScript(examples: Example[], options: ScriptOptions): { script: string; ran: Example[] } {
  const ran = examples.filter((e) => !e.skip && (options.slow || !e.slow));
  const prelude = [
    'set -e',
    // The command that failed, for the test's message (what the README example printed may still be in a pipe).
    `trap 'echo "line $LINENO: $BASH_COMMAND (exit $?)" > failed-command.txt' ERR`,
    `modelport() { ${options.cli} "$@"; }`,
    'npx() { if [ "$1" = modelport ]; then shift; modelport "$@"; else command npx "$@"; fi; }',
    'curl() { case " $* " in *" -sf "*|*" -f "*) command curl "$@" ;; *) command curl --fail-with-body "$@" ;; esac; }',
  ];
  const body = ran.map((e) => {
    const code = expectExits(e.code)
      .replace(/(localhost|127\.0\.0\.1):5000\b/g, `$1:${options.ports.main}`)
      .replace(/\b8765\b/g, String(options.ports.second));
    return `echo ">>> README.md line ${e.line}" >&2\n${code}\n`;
  });
  return { script: [...prelude, ...body, 'echo ">>> all examples ran" >&2'].join('\n'), ran };
}
