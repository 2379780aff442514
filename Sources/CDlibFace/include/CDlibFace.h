// A C view of the two dlib models Mouthpiece uses: the HOG frontal face detector and the
// 68-point shape predictor. Images are packed 8-bit RGB, row stride in bytes.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mp_face_models mp_face_models;

typedef struct {
    double left, top, right, bottom;
    double score;
} mp_face_box;

/// Loads the detector and the predictor file. With `fast`, the file is parsed by Mouthpiece's own
/// reader (falling back to dlib's on any surprise); otherwise by dlib's. With `fast` and a
/// `cache_path` (may be NULL), both models come from that file when it was made from this
/// predictor file (path, size and modification time), which takes a fraction of the time; when it
/// is missing, stale or damaged they are loaded as above and the file is written for next time
/// (a failure to write it is ignored). Returns NULL and writes a message on failure.
mp_face_models *mp_face_models_load(const char *predictor_path, int fast, const char *cache_path, char *error,
                                    int error_length);
void mp_face_models_free(mp_face_models *models);

/// How the models were loaded: 0 dlib's reader, 1 Mouthpiece's fast reader, 2 the cache.
int mp_face_models_source(const mp_face_models *models);

/// Finds faces; writes at most `capacity` boxes (strongest first) and returns how many were found
/// in total. `upsample` doubles the image that many times first (finds smaller faces, slower).
/// Returns -1 on an internal error.
int mp_detect_faces(mp_face_models *models, const uint8_t *rgb, int width, int height, int stride,
                    int upsample, double adjust_threshold, mp_face_box *boxes, int capacity);

/// Fits 68 landmarks inside `box`; writes 136 values (x0, y0, x1, y1, ...). Returns 0 on success.
int mp_face_landmarks(mp_face_models *models, const uint8_t *rgb, int width, int height, int stride,
                      mp_face_box box, double *points);

#ifdef __cplusplus
}
#endif
