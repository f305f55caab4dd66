"""The cases that make a report of every class, shared by the tests that check every
class's report (tests/report/triage, tests/sarif): which program, which case, which
options, which class it reports."""

BUG_CASES = [  # tests/report/bug_cases: (case, options, class)
    ("overflow_at_free", "", "heap-buffer-overflow"),
    ("underflow_at_free", "", "heap-buffer-underflow"),
    ("overflow_at_realloc", "", "heap-buffer-overflow"),
    ("overflow_at_check", "", "heap-buffer-overflow"),
    ("guard_overflow_write", "guard=all:guard_alignment=1", "heap-buffer-overflow"),
    ("guard_overflow_read", "guard=all", "heap-buffer-overflow"),
    ("guard_strlen_overread", "guard=all", "heap-buffer-overflow"),
    ("guard_underflow_read", "guard=all:guard_side=left", "heap-buffer-underflow"),
    ("guard_use_after_free_read", "guard=all", "heap-use-after-free"),
    ("use_after_free_write", "quarantine_mb=1", "heap-use-after-free"),
    ("use_after_free_write_at_check", "", "heap-use-after-free"),
    ("double_free", "", "double-free"),
    ("free_stack_address", "", "bad-free"),
    ("free_global", "", "bad-free"),
    ("free_wild", "", "bad-free"),
    ("free_interior", "", "bad-free"),
    ("malloc_then_delete", "", "alloc-dealloc-mismatch"),
    ("new_array_then_delete", "", "alloc-dealloc-mismatch"),
    ("aligned_new_then_plain_delete", "", "alloc-dealloc-mismatch"),
    ("sized_delete_mismatch", "", "new-delete-type-mismatch"),
    ("realloc_freed", "", "double-free"),
    ("header_corruption", "", "heap-header-corruption"),
]
DEADLY_CASES = [("null_read", "SEGV"), ("divide_by_zero", "FPE"), ("illegal_instruction", "ILL")]
BAD_REQUEST_CASES = [
    ("calloc_overflow", "calloc-overflow"), ("reallocarray_overflow", "reallocarray-overflow"),
    ("malloc_too_big", "allocation-size-too-big"), ("pvalloc_overflow", "pvalloc-overflow"),
    ("posix_memalign_alignment", "invalid-posix-memalign-alignment"),
    ("aligned_alloc_alignment", "invalid-aligned-alloc-alignment"),
    ("memalign_alignment", "invalid-allocation-alignment"),
]

