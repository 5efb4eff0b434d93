#ifndef CPLATFORM_SHIM_H
#define CPLATFORM_SHIM_H

// The few libc calls Shared/Platform and the worker need that Swift's Glibc module leaves out: they are GNU extensions
// (pthread_setname_np, sched_getaffinity, CPU_COUNT, accept4, malloc_trim) or a global the importer makes
// non-optional (environ).

/// Names the calling thread (Linux keeps at most 15 bytes and refuses longer names); 0 or an errno value.
int cg_set_current_thread_name(const char *_Nonnull name);

/// How many CPUs the calling process may run on (its affinity mask); -1 when unknown.
int cg_affinity_cpu_count(void);

/// The process's environment block, `NAME=value` strings ending with NULL; NULL when there is none.
char *_Nullable *_Nullable cg_environment(void);

/// `accept` with close-on-exec set atomically (`accept4` on Linux); the descriptor, or -1 with errno set.
int cg_accept_cloexec(int listener);

/// Hands the whole free pages of every heap back to the system (glibc's `malloc_trim(0)`); 1 when some memory was
/// released, 0 when none was (or on a libc without it).
int cg_release_free_heap_memory(void);

#endif
