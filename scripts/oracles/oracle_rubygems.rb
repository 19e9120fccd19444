# Judges "a<TAB>b" pairs (stdin) with Gem::Version#<=>; prints "a<TAB>b<TAB>-1|0|1", dropping malformed and
# empty versions (Gem::Version.new("") is "0", which Bulwark rejects as an error).
$stdin.each_line do |line|
  a, b = line.chomp("\n").split("\t", -1)
  next unless [a, b].all? { |v| !v.strip.empty? && Gem::Version.correct?(v) }
  puts "#{a}\t#{b}\t#{Gem::Version.new(a) <=> Gem::Version.new(b)}"
end
