# Real-program workload for the benchmark suite: hashes, arrays, string building,
# regular expressions and sorting, as an ordinary perl script does them.
# ARGV[0]: scale (rounds). Prints a checksum.
use strict;
use warnings;

my $rounds = $ARGV[0] // 40;
my $total = 0;
for my $r (1 .. $rounds) {
    my %h;
    my @lines;
    for my $i (1 .. 6000) {
        my $key = "item-$r-$i";
        my $line = join(",", $key, $i * 31 % 977, "v" x ($i % 200), scalar reverse($key));
        push @lines, $line;
        $h{$key} = [ split /,/, $line ];
    }
    my @sorted = sort { $h{$a}[1] <=> $h{$b}[1] or $a cmp $b } keys %h;
    my $text = join("\n", @lines);
    my $count = () = $text =~ /item-\d+-(\d*7)\b/g;
    (my $copy = $text) =~ s/v+/w/g;
    my %words;
    $words{$_}++ for split /[,\n-]/, $copy;
    $total += scalar(@sorted) + $count + length($copy) + scalar(keys %words);
}
print "perl rounds=$rounds checksum=$total\n";
