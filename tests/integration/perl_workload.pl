# Integration workload for perl under dbgalloc: hashes, regexes, sorting 100k items,
# string building. Prints only deterministic results (hash order is randomized per
# process, so every listing is sorted).
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);

my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed; }

# Sort 100k strings and 100k numbers.
my @words = map { sprintf("w%08x-%d", rnd(), $_ % 977) } 1 .. 100_000;
my @sorted = sort @words;
my @nums = sort { $a <=> $b } map { rnd() % 1_000_000 } 1 .. 100_000;
print "sort: ", scalar(@sorted), " ", $sorted[0], " ", $sorted[-1], " ", md5_hex(join ",", @sorted), "\n";
print "sort numeric: ", $nums[0], " ", $nums[50_000], " ", $nums[-1], " ", md5_hex(join ",", @nums), "\n";

# Hashes: word counts, nested structures, deletes.
my %count;
$count{ $_ % 977 }++ for @nums;
my %groups;
for my $w (@words) {
  my ($hex, $grp) = $w =~ /^w([0-9a-f]{8})-(\d+)$/ or die "no match: $w";
  push @{ $groups{$grp} }, $hex;
}
delete $groups{$_} for grep { $_ % 3 == 0 } keys %groups;
my $total = 0;
$total += scalar @{ $groups{$_} } for keys %groups;
print "hash: ", scalar(keys %count), " keys, ", scalar(keys %groups), " groups, $total members\n";
print "hash top: ", join(" ", map { "$_=$count{$_}" } (sort { $count{$b} <=> $count{$a} || $a <=> $b } keys %count)[0 .. 4]), "\n";

# Regexes: substitution, captures, global matching, split/join.
my $text = join " ", map { "item$_=" . ($_ * 7 % 1000) . ";" } 1 .. 20_000;
(my $copy = $text) =~ s/item(\d+)=(\d+);/$2:$1/g;
my @pairs = $text =~ /item(\d+)=(\d+);/g;
my $evens = () = $text =~ /=\d*[02468];/g;
my @fields = split /\s+/, $copy;
print "regex: ", scalar(@pairs), " captures, $evens even values, ", scalar(@fields), " fields, ", md5_hex($copy), "\n";

# String growth and many short-lived arrays.
my $s = "";
$s .= chr(65 + $_ % 26) x ($_ % 50) for 1 .. 20_000;
my @chunks = unpack("(A97)*", $s);
print "strings: ", length($s), " bytes, ", scalar(@chunks), " chunks, ", md5_hex($s), "\n";
print "perl: done\n";
