/*
 * desktop.h - the desktop side of the agent: a "login required"
 * notification (org.freedesktop.Notifications) whose "Sign in" action
 * starts the login in the browser.
 *
 * Signals from D-Bus (ActionInvoked) arrive on a GLib main context, which
 * the agent's epoll loop is not: a thread of its own runs one.  It owns the
 * D-Bus connection, sends the notifications and hands clicked actions to the
 * loop through an eventfd.  Without a session bus or a notification daemon
 * it does nothing (the state event and `status` still say what happened).
 * The texts name the profile and what to do, never a credential.
 */
#ifndef MM_DESKTOP_H
#define MM_DESKTOP_H

#include "loop.h"

typedef struct mm_desktop mm_desktop;

/* Runs on the loop thread when the user chose "Sign in" for profile. */
typedef void (*mm_desktop_signin)(void *ctx, const char *profile);

mm_desktop *mm_desktop_new(mm_loop *loop, mm_desktop_signin signin, void *ctx);
void mm_desktop_free(mm_desktop *d);

/* Show that profile needs a new login (body: what happened), with a
 * "Sign in" action when signin is set (a browser login can do it; a
 * password the agent cannot ask for).  Loop thread; returns at once. */
void mm_desktop_login_required(mm_desktop *d, const char *profile, const char *body,
                               int signin);

#endif
