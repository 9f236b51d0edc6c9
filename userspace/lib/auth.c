// SPDX-License-Identifier: GPL-2.0
/*
 * The shared secret and the handshake's proofs (auth.h).
 *
 * The secret file is checked on the descriptor that is then read (fstat
 * after open), so a file swapped between check and read is still the one
 * checked. It is opened non-blocking, so a FIFO put in its place cannot
 * hang the tool before the "not a regular file" check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"

#define CONTEXT_LEN	(sizeof(QREP_AUTH_CONTEXT) - 1)
#define LABEL_LEN	(sizeof(QREP_AUTH_LABEL_C2T) - 1)
_Static_assert(sizeof(QREP_AUTH_LABEL_C2T) == sizeof(QREP_AUTH_LABEL_T2C),
	       "direction labels of one length");

/* Everything a proof covers, at most. */
#define MAC_INPUT_MAX	(CONTEXT_LEN + LABEL_LEN + 2 * QREP_AUTH_NONCE_SIZE + \
			 QREP_HELLO_SIZE + QREP_HELLO_REPLY_SIZE)

int qrep_secret_set(struct qrep_secret *s, const void *key, size_t len)
{
	if (len < QREP_SECRET_MIN_LEN || len > QREP_SECRET_MAX_LEN)
		return -EINVAL;
	memcpy(s->key, key, len);
	s->len = len;
	return 0;
}

void qrep_secret_wipe(struct qrep_secret *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

static int load_fail(char *err, size_t errlen, int ret, const char *path,
		     const char *why)
{
	snprintf(err, errlen, "secret file %s: %s", path, why);
	return ret;
}

/* The checks on an open secret file; 0 or -errno with the reason. */
static int secret_file_check(int fd, const char *path, char *err,
			     size_t errlen)
{
	char why[160];
	struct stat st;

	if (fstat(fd, &st))
		return load_fail(err, errlen, -errno, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return load_fail(err, errlen, -EINVAL, path,
				 "not a regular file");
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(why, sizeof(why),
			 "permissions %04o let group or others at it; "
			 "it must be readable by its owner only (chmod 600)",
			 (unsigned int)(st.st_mode & 07777));
		return load_fail(err, errlen, -EPERM, path, why);
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(why, sizeof(why),
			 "owned by uid %u: it must belong to this user (uid "
			 "%u) or root", (unsigned int)st.st_uid,
			 (unsigned int)geteuid());
		return load_fail(err, errlen, -EPERM, path, why);
	}
	return 0;
}

int qrep_secret_load(const char *path, struct qrep_secret *s, char *err,
		     size_t errlen)
{
	uint8_t buf[QREP_SECRET_MAX_LEN + 1];
	size_t len = 0;
	ssize_t n;
	char why[160];
	int fd, ret;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return load_fail(err, errlen, -errno, path, strerror(errno));
	ret = secret_file_check(fd, path, err, errlen);
	while (!ret && len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = load_fail(err, errlen, -errno, path,
					strerror(errno));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (ret)
		goto out;
	if (len > QREP_SECRET_MAX_LEN) {
		snprintf(why, sizeof(why), "longer than %d bytes",
			 QREP_SECRET_MAX_LEN);
		ret = load_fail(err, errlen, -EFBIG, path, why);
		goto out;
	}
	/* "echo secret > file" and "printf secret > file" agree. */
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len < QREP_SECRET_MIN_LEN) {
		snprintf(why, sizeof(why), "%s: a secret needs at least %d "
			 "bytes (e.g. head -c 32 /dev/urandom | base64)",
			 len ? "too short" : "empty", QREP_SECRET_MIN_LEN);
		ret = load_fail(err, errlen, -EINVAL, path, why);
		goto out;
	}
	ret = qrep_secret_set(s, buf, len);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

int qrep_secret_load_optional(const char *path, struct qrep_secret *buf,
			      const struct qrep_secret **out, char *err,
			      size_t errlen)
{
	int ret;

	*out = NULL;
	if (!path[0])
		return 0;
	ret = qrep_secret_load(path, buf, err, errlen);
	if (!ret)
		*out = buf;
	return ret;
}

int qrep_auth_nonce(uint8_t *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = getrandom(buf + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int qrep_auth_mac(const struct qrep_secret *s, enum qrep_auth_dir dir,
		  const uint8_t *target_nonce, const uint8_t *client_nonce,
		  const uint8_t *hello, const uint8_t *reply, uint8_t *mac)
{
	uint8_t in[MAC_INPUT_MAX], *p = in;
	unsigned int maclen = 0;
	bool t2c = dir == QREP_AUTH_TARGET_TO_CLIENT;

	if (t2c != (reply != NULL))
		return -EINVAL;
	memcpy(p, QREP_AUTH_CONTEXT, CONTEXT_LEN);
	p += CONTEXT_LEN;
	memcpy(p, t2c ? QREP_AUTH_LABEL_T2C : QREP_AUTH_LABEL_C2T, LABEL_LEN);
	p += LABEL_LEN;
	memcpy(p, target_nonce, QREP_AUTH_NONCE_SIZE);
	p += QREP_AUTH_NONCE_SIZE;
	memcpy(p, client_nonce, QREP_AUTH_NONCE_SIZE);
	p += QREP_AUTH_NONCE_SIZE;
	memcpy(p, hello, QREP_HELLO_SIZE);
	p += QREP_HELLO_SIZE;
	if (t2c) {
		memcpy(p, reply, QREP_HELLO_REPLY_SIZE);
		p += QREP_HELLO_REPLY_SIZE;
	}
	if (!HMAC(EVP_sha256(), s->key, (int)s->len, in, (size_t)(p - in),
		  mac, &maclen) || maclen != QREP_AUTH_MAC_SIZE)
		return -EIO;
	return 0;
}

bool qrep_auth_mac_ok(const struct qrep_secret *s, enum qrep_auth_dir dir,
		      const uint8_t *target_nonce, const uint8_t *client_nonce,
		      const uint8_t *hello, const uint8_t *reply,
		      const uint8_t *mac)
{
	uint8_t want[QREP_AUTH_MAC_SIZE];
	bool ok;

	if (qrep_auth_mac(s, dir, target_nonce, client_nonce, hello, reply,
			  want))
		return false;
	ok = CRYPTO_memcmp(want, mac, QREP_AUTH_MAC_SIZE) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

int qrep_auth_hmac(const struct qrep_secret *s, const char *context,
		   const void *data, size_t len, uint8_t *mac)
{
	uint8_t in[QREP_AUTH_HMAC_INPUT_MAX];
	size_t clen = strlen(context);
	unsigned int maclen = 0;
	int ret = 0;

	/* One-shot HMAC(): the streaming HMAC_CTX API is deprecated in 3.0. */
	if (clen > sizeof(in) || len > sizeof(in) - clen)
		return -EINVAL;
	memcpy(in, context, clen);
	memcpy(in + clen, data, len);
	if (!HMAC(EVP_sha256(), s->key, (int)s->len, in, clen + len, mac,
		  &maclen) || maclen != QREP_AUTH_MAC_SIZE)
		ret = -EIO;
	OPENSSL_cleanse(in, clen + len);
	return ret;
}

bool qrep_auth_hmac_ok(const struct qrep_secret *s, const char *context,
		       const void *data, size_t len, const uint8_t *mac)
{
	uint8_t want[QREP_AUTH_MAC_SIZE];
	bool ok;

	if (qrep_auth_hmac(s, context, data, len, want))
		return false;
	ok = CRYPTO_memcmp(want, mac, QREP_AUTH_MAC_SIZE) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
