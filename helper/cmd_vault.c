/* cmd_vault.c - unlock, lock: the encrypted file store (agent/vault.h). */
#include <stdio.h>
#include <string.h>

#include "helper.h"
#include "prompt.h"

/* Whether the vault exists yet ("absent", "locked", "unlocked"), from status. */
static int vault_state(const mm_opts *o, char *out, size_t len)
{
    mm_response r;
    int rc = mm_request_once(o, mm_proto_request(MM_OP_STATUS, 0, NULL), &r);
    if (rc)
        return rc;
    const char *store = mm_json_str(r.root, "store"), *v = mm_json_str(r.root, "vault");
    snprintf(out, len, "%s", v ? v : "");
    rc = store && !strcmp(store, "file")
             ? 0
             : mm_fail(MM_ERR_WRONG_KIND, "the agent keeps credentials in the keyring, not in "
                       "the encrypted file; set \"store\": \"file\" in the config to use one");
    mm_response_free(&r);
    return rc;
}

/* A new vault's passphrase: asked twice, so a typo cannot lock everything
 * away (from standard input: two lines). */
static int new_passphrase(char *pass, size_t len)
{
    char again[1025];
    fprintf(stderr, "No credential vault yet: choose a passphrase to create one.\n");
    int n = mm_prompt("New vault passphrase: ", pass, len, 0);
    int m = n > 0 ? mm_prompt("Repeat it: ", again, sizeof(again), 0) : -1;
    int same = n > 0 && m == n && !strcmp(pass, again);
    explicit_bzero(again, sizeof(again));
    if (n <= 0)
        return mm_fail(MM_ERR_USAGE, "no passphrase given");
    return same ? 0 : mm_fail(MM_ERR_USAGE, "the passphrases differ; nothing was created");
}

static int run_unlock(mm_opts *o)
{
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "the passphrase is read from the terminal or standard "
                       "input, never from the command line");
    char state[32], pass[1025];
    int rc = vault_state(o, state, sizeof(state));
    if (rc)
        return rc;
    if (!strcmp(state, "unlocked")) {
        printf("The credential vault is already unlocked\n");
        return 0;
    }
    int create = !strcmp(state, "absent");
    if (create)
        rc = new_passphrase(pass, sizeof(pass));
    else if (mm_prompt("Vault passphrase: ", pass, sizeof(pass), 0) <= 0)
        rc = mm_fail(MM_ERR_USAGE, "no passphrase given");
    if (rc) {
        explicit_bzero(pass, sizeof(pass));
        return rc;
    }
    cJSON *req = mm_proto_request(MM_OP_UNLOCK, 0, NULL);
    cJSON_AddStringToObject(req, "passphrase", pass);
    cJSON_AddBoolToObject(req, "create", create);
    explicit_bzero(pass, sizeof(pass));
    mm_response r;
    if (!o->timeout_s)
        o->timeout_s = 60; /* Argon2id takes a second; a slow machine more */
    if ((rc = mm_request_once(o, req, &r)))
        return rc;
    printf("%s\n", create ? "Credential vault created and unlocked" : "Credential vault unlocked");
    mm_response_free(&r);
    return 0;
}

static int run_lock(mm_opts *o)
{
    mm_response r;
    if (o->nargs)
        return mm_fail(MM_ERR_USAGE, "unexpected argument '%s'", o->args[0]);
    int rc = mm_request_once(o, mm_proto_request(MM_OP_LOCK, 0, NULL), &r);
    if (rc)
        return rc;
    printf("Credential vault locked: the agent forgot its key and every credential from it\n");
    mm_response_free(&r);
    return 0;
}

const mm_command mm_cmd_unlock = {
    "unlock", run_unlock, "unlock",
    "Unlock the encrypted credential vault, the store used where no keyring\n"
    "(Secret Service) exists: SSH sessions, servers, containers.  Reads the\n"
    "passphrase without echo (from standard input when it is not a terminal),\n"
    "never from the command line.  The first unlock creates the vault and asks\n"
    "twice (two lines on standard input).  The agent keeps the key in locked\n"
    "memory until 'mimir-helper lock' or until it stops.\n", NULL};

const mm_command mm_cmd_lock = {
    "lock", run_lock, "lock",
    "Lock the credential vault: the agent forgets its key and the credentials\n"
    "it read from the vault; tokens are served again after 'mimir-helper unlock'.\n",
    NULL};
