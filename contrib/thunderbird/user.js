// user.js - two Thunderbird news accounts for newsgate: plain NNTP on
// localhost port 1119 (newsgate's default listener) and NNTP over TLS on
// localhost port 1563 (newsgate's default tls_listen, served once a
// certificate is configured: docs/security.md).
//
// NOT TESTED HERE: no Thunderbird runs in this project's tests or CI.
// What is tested is the command sequence Thunderbird sends, replayed
// against newsgate (tests/e2e/check_traces.c). The preference names are
// Thunderbird's own (the ones its account wizard writes to prefs.js);
// check them against your version in Settings > Config Editor.
//
// How to use it:
//   1. Quit Thunderbird.
//   2. Copy this file into your profile directory as user.js, or append
//      it to an existing user.js. (Help > Troubleshooting Information >
//      Profile Folder shows where the profile is.)
//   3. Edit mail.accountmanager.accounts below (read the warning there)
//      and your name and address in the two identities.
//   4. Start Thunderbird. Then right-click each account > Subscribe... to
//      choose groups (pakistan.news, us.statedept).
// Thunderbird copies every user.js value into prefs.js on each start, so
// once the accounts exist you may delete these lines: the accounts stay,
// and changes made in Account Settings are no longer overwritten at the
// next start.
//
// The account, server and identity keys (account91, server91, id91 ...)
// only need to be unused in your profile; high numbers keep clear of the
// ones Thunderbird hands out itself.

// --- the list of accounts ---------------------------------------------------
// WARNING: this preference is the whole list of accounts Thunderbird shows.
// Set as it is here, it hides every other account of the profile (they are
// not deleted: restoring the list brings them back). In a profile that has
// accounts, first copy the current value from Config Editor
// (mail.accountmanager.accounts, e.g. "account1,account2") and put it in
// front: "account1,account2,account91,account92".
user_pref("mail.accountmanager.accounts", "account91,account92");

// --- newsgate, plain NNTP, localhost:1119 -------------------------------------
user_pref("mail.account.account91.server", "server91");
user_pref("mail.account.account91.identities", "id91");
user_pref("mail.server.server91.type", "nntp");
user_pref("mail.server.server91.name", "newsgate (localhost:1119)");
user_pref("mail.server.server91.hostname", "localhost");
user_pref("mail.server.server91.port", 1119);
// 0: no encryption. Fine on loopback; across a network use the TLS
// account below.
user_pref("mail.server.server91.socketType", 0);
// Headers fetched per group before Thunderbird asks (its default is 500).
user_pref("mail.server.server91.max_articles", 500);
// When a group has more than max_articles new headers, Thunderbird asks
// how many to fetch; this is the default of its "mark the rest as read".
user_pref("mail.server.server91.mark_old_read", false);
// The identity used for follow-ups. newsgate adds the Message-ID, Path
// and Date; a server with post_policy = authenticated asks for the user
// name and password (newsgate passwd) when you first post.
user_pref("mail.identity.id91.fullName", "Your Name");
user_pref("mail.identity.id91.useremail", "you@example.org");
user_pref("mail.identity.id91.valid", true);

// --- newsgate, NNTP over TLS, localhost:1563 ----------------------------------
// The same server over implicit TLS (TLS from the first byte, as NNTP on
// port 563; RFC 8143). With the self-signed certificate of
// contrib/scripts/mkcert.sh, Thunderbird asks to add a security exception
// on the first connection: check that the certificate is the one you made
// (openssl x509 -in cert.pem -noout -fingerprint -sha256), then confirm.
user_pref("mail.account.account92.server", "server92");
user_pref("mail.account.account92.identities", "id92");
user_pref("mail.server.server92.type", "nntp");
user_pref("mail.server.server92.name", "newsgate TLS (localhost:1563)");
user_pref("mail.server.server92.hostname", "localhost");
user_pref("mail.server.server92.port", 1563);
// 3: SSL/TLS, what Account Settings calls it (implicit TLS).
user_pref("mail.server.server92.socketType", 3);
user_pref("mail.server.server92.max_articles", 500);
user_pref("mail.server.server92.mark_old_read", false);
user_pref("mail.identity.id92.fullName", "Your Name");
user_pref("mail.identity.id92.useremail", "you@example.org");
user_pref("mail.identity.id92.valid", true);

// --- optional ------------------------------------------------------------------
// A profile that has only these news accounts: do not open the e-mail
// account wizard at every start.
//user_pref("mail.provider.suppress_dialog_on_startup", true);
// Threads need no setting: newsgate links the articles of one story with
// References, and Thunderbird's default threaded view of a newsgroup shows
// one collapsed thread per story ("*" expands them all).
