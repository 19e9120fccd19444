<?php
// Judges "a<TAB>b" pairs (stdin) as Composer\Semver\Semver::sort orders versions: VersionParser::normalize,
// normalizeDefaultBranch, then Comparator. Prints "a<TAB>b<TAB>-1|0|1", dropping invalid versions and pairs of
// two different branches (Composer leaves those unordered).
require '/usr/share/php/Composer/Semver/autoload.php';

use Composer\Semver\Comparator;
use Composer\Semver\VersionParser;

$parser = new VersionParser();
$normalize = function ($v) use ($parser) {
    try {
        return $parser->normalizeDefaultBranch($parser->normalize($v));
    } catch (\UnexpectedValueException $e) {
        return null;
    }
};
while (($line = fgets(STDIN)) !== false) {
    [$a, $b] = explode("\t", rtrim($line, "\n"));
    $x = $normalize($a);
    $y = $normalize($b);
    if ($x === null || $y === null) {
        continue;
    }
    if (strpos($x, 'dev-') === 0 && strpos($y, 'dev-') === 0) {
        if ($x === $y) {
            echo "$a\t$b\t0\n";
        }
        continue;
    }
    $lt = Comparator::lessThan($x, $y);
    $gt = Comparator::greaterThan($x, $y);
    $eq = Comparator::equalTo($x, $y);
    if ((int) $lt + (int) $gt + (int) $eq !== 1) {
        fwrite(STDERR, "inconsistent: $a ($x) vs $b ($y)\n");
        continue;
    }
    echo "$a\t$b\t" . ($lt ? -1 : ($gt ? 1 : 0)) . "\n";
}
