/*
 * test_paths.c - common/paths.c: where the socket and the config live, and
 * the private-directory check that guards the socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "mimir/paths.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    unsetenv("MIMIR_AGENT_SOCK");
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("MIMIR_CONFIG");
    unsetenv("XDG_CONFIG_HOME");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mm-unit-paths.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", tmpdir, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- socket path ---------------------------------------------------------- */

static void test_socket_env_first(void **state)
{
    (void)state;
    char buf[108];
    setenv("MIMIR_AGENT_SOCK", "/run/custom/agent.sock", 1);
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/run/custom/agent.sock");
}

static void test_socket_xdg_runtime_dir(void **state)
{
    (void)state;
    char buf[108];
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/run/user/1000/mimir/agent.sock");
    /* An empty MIMIR_AGENT_SOCK counts as unset. */
    setenv("MIMIR_AGENT_SOCK", "", 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/run/user/1000/mimir/agent.sock");
}

static void test_socket_tmp_fallback(void **state)
{
    (void)state;
    char buf[108], want[108];
    snprintf(want, sizeof(want), "/tmp/mimir-%u/agent.sock", (unsigned)getuid());
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, want);
    /* XDG says: ignore a relative XDG_RUNTIME_DIR (and an empty one). */
    setenv("XDG_RUNTIME_DIR", "run/user", 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, want);
    setenv("XDG_RUNTIME_DIR", "", 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, want);
}

static void test_socket_relative_refused(void **state)
{
    (void)state;
    char buf[108];
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    setenv("MIMIR_AGENT_SOCK", "agent.sock", 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_ERR_CONFIG);
    setenv("MIMIR_AGENT_SOCK", "./x/agent.sock", 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_ERR_CONFIG);
}

static void test_socket_too_long(void **state)
{
    (void)state;
    char buf[256], val[200];
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path); /* 108 with the NUL */
    /* The longest that fits: max - 1 characters. */
    memset(val, 'a', sizeof(val));
    val[0] = '/';
    val[max - 1] = '\0';
    setenv("MIMIR_AGENT_SOCK", val, 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, val);
    /* One more is refused, even though buf itself is large enough. */
    val[max - 1] = 'a';
    val[max] = '\0';
    setenv("MIMIR_AGENT_SOCK", val, 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_ERR_CONFIG);
    /* The same limit through XDG_RUNTIME_DIR. */
    unsetenv("MIMIR_AGENT_SOCK");
    val[100] = '\0';
    setenv("XDG_RUNTIME_DIR", val, 1);
    assert_int_equal(mm_socket_path(buf, sizeof(buf)), MM_ERR_CONFIG);
    /* And a small caller buffer. */
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(mm_socket_path(buf, 10), MM_ERR_CONFIG);
}

/* ---- config path ----------------------------------------------------------- */

static void test_config_path_order(void **state)
{
    (void)state;
    char buf[512];
    const char *home = getenv("HOME");
    char saved_home[256] = "";
    if (home)
        snprintf(saved_home, sizeof(saved_home), "%s", home);

    setenv("HOME", "/home/u", 1);
    assert_int_equal(mm_config_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/home/u/.config/mimir/config.json");
    setenv("XDG_CONFIG_HOME", "relative/conf", 1); /* ignored */
    assert_int_equal(mm_config_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/home/u/.config/mimir/config.json");
    setenv("XDG_CONFIG_HOME", "/xdg/conf", 1);
    assert_int_equal(mm_config_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/xdg/conf/mimir/config.json");
    setenv("MIMIR_CONFIG", "/etc/mimir.json", 1);
    assert_int_equal(mm_config_path(buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/etc/mimir.json");
    unsetenv("MIMIR_CONFIG");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    assert_int_equal(mm_config_path(buf, sizeof(buf)), MM_ERR_CONFIG);
    assert_int_equal(mm_config_path(buf, 5), MM_ERR_CONFIG);
    if (saved_home[0])
        setenv("HOME", saved_home, 1);
}

/* ---- dirname ----------------------------------------------------------- */

static void test_dirname(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(mm_dirname("/a/b/agent.sock", buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/a/b");
    assert_int_equal(mm_dirname("/agent.sock", buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "/");
    assert_int_equal(mm_dirname("agent.sock", buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, ".");
    assert_int_equal(mm_dirname("a/b", buf, sizeof(buf)), MM_OK);
    assert_string_equal(buf, "a");
    assert_int_equal(mm_dirname("/long/directory/x", buf, 5), MM_ERR_CONFIG);
}

/* ---- the private directory check ---------------------------------------- */

static void path_in_tmp(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", tmpdir, rel);
}

static mode_t mode_of(const char *p)
{
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    return st.st_mode & 07777;
}

static void test_private_dir_creates_0700(void **state)
{
    (void)state;
    char d[512], mid[512], why[600] = "";
    mode_t old = umask(0); /* even with a permissive umask */
    path_in_tmp(d, sizeof(d), "a/b/c");
    path_in_tmp(mid, sizeof(mid), "a/b");
    assert_int_equal(mm_private_dir(d, 1, why, sizeof(why)), MM_OK);
    umask(old);
    assert_int_equal(mode_of(d), 0700);
    assert_int_equal(mode_of(mid), 0700); /* parents it created too */
    /* Again: it exists and is fine. */
    assert_int_equal(mm_private_dir(d, 1, why, sizeof(why)), MM_OK);
    assert_int_equal(mm_private_dir(d, 0, why, sizeof(why)), MM_OK);
}

static void test_private_dir_missing_without_create(void **state)
{
    (void)state;
    char d[512], why[600] = "";
    path_in_tmp(d, sizeof(d), "absent");
    assert_int_not_equal(mm_private_dir(d, 0, why, sizeof(why)), MM_OK);
    assert_non_null(strstr(why, d));
    struct stat st;
    assert_int_not_equal(lstat(d, &st), 0); /* not created */
}

static void test_private_dir_refuses_open_mode(void **state)
{
    (void)state;
    char d[512], why[600] = "";
    path_in_tmp(d, sizeof(d), "open");
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(chmod(d, 0755), 0);
    assert_int_equal(mm_private_dir(d, 1, why, sizeof(why)), MM_ERR_CONFIG);
    assert_non_null(strstr(why, d));
    assert_non_null(strstr(why, "755"));
    assert_int_equal(mode_of(d), 0755); /* refused, never silently fixed */
    assert_int_equal(chmod(d, 0710), 0);
    assert_int_equal(mm_private_dir(d, 0, why, sizeof(why)), MM_ERR_CONFIG);
    assert_int_equal(chmod(d, 0701), 0);
    assert_int_equal(mm_private_dir(d, 0, why, sizeof(why)), MM_ERR_CONFIG);
}

static void test_private_dir_refuses_symlink(void **state)
{
    (void)state;
    char real[512], link[512], why[600] = "";
    path_in_tmp(real, sizeof(real), "real");
    path_in_tmp(link, sizeof(link), "link");
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(mm_private_dir(real, 0, why, sizeof(why)), MM_OK);
    assert_int_equal(mm_private_dir(link, 0, why, sizeof(why)), MM_ERR_CONFIG);
    assert_non_null(strstr(why, "symlink"));
    assert_int_equal(mm_private_dir(link, 1, why, sizeof(why)), MM_ERR_CONFIG);
}

static void test_private_dir_refuses_file(void **state)
{
    (void)state;
    char f[512], why[600] = "";
    path_in_tmp(f, sizeof(f), "file");
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_not_equal(mm_private_dir(f, 0, why, sizeof(why)), MM_OK);
    assert_int_not_equal(mm_private_dir(f, 1, why, sizeof(why)), MM_OK);
}

static void test_private_dir_refuses_other_owner(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs chown */
    char d[512], why[600] = "";
    path_in_tmp(d, sizeof(d), "theirs");
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(chown(d, 65534, 65534), 0);
    assert_int_equal(mm_private_dir(d, 1, why, sizeof(why)), MM_ERR_CONFIG);
    assert_non_null(strstr(why, "owned by uid 65534"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_socket_env_first),
        T(test_socket_xdg_runtime_dir),
        T(test_socket_tmp_fallback),
        T(test_socket_relative_refused),
        T(test_socket_too_long),
        T(test_config_path_order),
        T(test_dirname),
        T(test_private_dir_creates_0700),
        T(test_private_dir_missing_without_create),
        T(test_private_dir_refuses_open_mode),
        T(test_private_dir_refuses_symlink),
        T(test_private_dir_refuses_file),
        T(test_private_dir_refuses_other_owner),
    };
    return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}
