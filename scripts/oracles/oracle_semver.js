// Judges "a<TAB>b" pairs (stdin) with node-semver; prints "a<TAB>b<TAB>-1|0|1", dropping invalid versions.
// Mode "npm": loose mode, as npm reads lockfiles. Mode "semver": strict SemVer 2.0 after Bulwark's documented
// leniency for OSV SEMVER data (surrounding space and one leading "v" removed, "1" and "1.2" padded with ".0").
const semver = require('semver');
const mode = process.argv[2];
const lenient = (text) => {
  let t = text.trim();
  if (t.startsWith('v')) t = t.slice(1);
  const m = /^([^-+]*)(.*)$/.exec(t);
  let core = m[1];
  const parts = core.split('.');
  if (parts.length < 3 && parts.every((p) => /^\d+$/.test(p))) core = parts.concat(['0', '0']).slice(0, 3).join('.');
  return core + m[2];
};
const parse = (text) => {
  try {
    return mode === 'npm' ? new semver.SemVer(text, { loose: true }) : new semver.SemVer(lenient(text));
  } catch (e) {
    return null;
  }
};
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const [a, b] = line.split('\t');
  const x = parse(a);
  const y = parse(b);
  if (x === null || y === null) continue;
  out.push(`${a}\t${b}\t${semver.compare(x, y)}`);
}
process.stdout.write(out.map((l) => l + '\n').join(''));
