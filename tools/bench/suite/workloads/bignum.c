/* A bignum-style factorizer (in the style of the classic "cfrac" benchmark): numbers of
   64 to 90 bits are factored with Pollard's rho over a small arbitrary-precision
   library whose every operation returns a freshly allocated number (32-bit limbs) and
   whose operands are freed as soon as they are used, so the allocator sees a stream of
   small short-lived blocks of a few sizes.
   usage: bignum [NUMBERS]   (default 30: how many numbers to factor) */
#include "common.h"

#include <string.h>

typedef struct { int len; uint32_t d[]; } bn;  /* little-endian limbs, no leading zeros */

static bn *bn_new(int len) {
  bn *r = malloc(sizeof(bn) + (size_t)(len > 0 ? len : 1) * sizeof(uint32_t));
  if (!r) abort();
  r->len = len;
  return r;
}
static bn *bn_trim(bn *r) {
  while (r->len > 0 && r->d[r->len - 1] == 0) r->len--;
  return r;
}
static bn *bn_u64(uint64_t v) {
  bn *r = bn_new(2);
  r->d[0] = (uint32_t)v;
  r->d[1] = (uint32_t)(v >> 32);
  return bn_trim(r);
}
static bn *bn_copy(const bn *a) {
  bn *r = bn_new(a->len);
  memcpy(r->d, a->d, (size_t)a->len * sizeof(uint32_t));
  return r;
}
static int bn_cmp(const bn *a, const bn *b) {
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  for (int i = a->len - 1; i >= 0; --i)
    if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
  return 0;
}
static bn *bn_add(const bn *a, const bn *b) {
  int n = (a->len > b->len ? a->len : b->len) + 1;
  bn *r = bn_new(n);
  uint64_t carry = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t s = carry + (i < a->len ? a->d[i] : 0) + (i < b->len ? b->d[i] : 0);
    r->d[i] = (uint32_t)s;
    carry = s >> 32;
  }
  return bn_trim(r);
}
static bn *bn_sub(const bn *a, const bn *b) {  /* a >= b */
  bn *r = bn_new(a->len);
  int64_t borrow = 0;
  for (int i = 0; i < a->len; ++i) {
    int64_t s = (int64_t)a->d[i] - (i < b->len ? b->d[i] : 0) - borrow;
    borrow = s < 0;
    r->d[i] = (uint32_t)(s + (borrow ? (int64_t)1 << 32 : 0));
  }
  return bn_trim(r);
}
static bn *bn_mul(const bn *a, const bn *b) {
  bn *r = bn_new(a->len + b->len);
  memset(r->d, 0, (size_t)r->len * sizeof(uint32_t));
  for (int i = 0; i < a->len; ++i) {
    uint64_t carry = 0;
    for (int j = 0; j < b->len; ++j) {
      uint64_t t = (uint64_t)a->d[i] * b->d[j] + r->d[i + j] + carry;
      r->d[i + j] = (uint32_t)t;
      carry = t >> 32;
    }
    r->d[i + b->len] = (uint32_t)carry;
  }
  return bn_trim(r);
}
/* a mod m, bit by bit: r = 2r + bit, minus m when it reaches it (a temporary each step). */
static bn *bn_mod(const bn *a, const bn *m) {
  bn *r = bn_new(0);
  for (int bit = a->len * 32 - 1; bit >= 0; --bit) {
    bn *twice = bn_add(r, r);
    free(r);
    if ((a->d[bit / 32] >> (bit % 32)) & 1) {
      bn *one = bn_u64(1), *t = bn_add(twice, one);
      free(one);
      free(twice);
      twice = t;
    }
    if (bn_cmp(twice, m) >= 0) {
      r = bn_sub(twice, m);
      free(twice);
    } else {
      r = twice;
    }
  }
  return r;
}
static bn *bn_gcd(const bn *a0, const bn *b0) {
  bn *a = bn_copy(a0), *b = bn_copy(b0);
  while (b->len > 0) {
    bn *t = bn_mod(a, b);
    free(a);
    a = b;
    b = t;
  }
  free(b);
  return a;
}
static uint64_t bn_low(const bn *a) {
  return a->len == 0 ? 0 : a->len == 1 ? a->d[0] : a->d[0] | (uint64_t)a->d[1] << 32;
}

/* One nontrivial factor of n by Pollard's rho (Floyd), or NULL. */
static bn *rho(const bn *n, uint64_t c0) {
  bn *c = bn_u64(c0), *x = bn_u64(2), *y = bn_u64(2), *one = bn_u64(1);
  bn *factor = NULL;
  for (long step = 0; step < 200000 && !factor; ++step) {
    for (int k = 0; k < 3; ++k) {  /* x once, y twice */
      bn **v = k == 0 ? &x : &y;
      bn *sq = bn_mul(*v, *v), *s = bn_add(sq, c), *m = bn_mod(s, n);
      free(sq);
      free(s);
      free(*v);
      *v = m;
    }
    bn *diff = bn_cmp(x, y) >= 0 ? bn_sub(x, y) : bn_sub(y, x);
    bn *g = bn_gcd(diff, n);
    free(diff);
    if (bn_cmp(g, one) != 0 && bn_cmp(g, n) != 0) factor = g;
    else free(g);
    if (bn_cmp(x, y) == 0) break;
  }
  free(c);
  free(x);
  free(y);
  free(one);
  return factor;
}

int main(int argc, char **argv) {
  long count = arg_size(argc, argv, 30);
  uint64_t seed = 4242, sum = 0;
  for (long i = 0; i < count; ++i) {
    /* A product of a 24-31 bit odd number and a 40-59 bit one: rho finds the small one. */
    uint64_t p = (rng_next(&seed) % (1u << 30) + (1u << 23)) | 1;
    uint64_t q = (rng_next(&seed) >> (64 - 40 - (int)(rng_next(&seed) % 20))) | 1;
    bn *bp = bn_u64(p), *bq = bn_u64(q), *n = bn_mul(bp, bq);
    free(bp);
    free(bq);
    bn *f = NULL;
    for (uint64_t c = 1; c < 4 && !f; ++c) f = rho(n, c);
    sum = sum * 1000003 + (f ? bn_low(f) : 0);
    free(f);
    free(n);
  }
  printf("bignum %ld %llu\n", count, (unsigned long long)sum);
  return 0;
}
