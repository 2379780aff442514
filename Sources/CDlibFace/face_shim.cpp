// The only C++ in Mouthpiece: wraps dlib's detector and shape predictor behind a C header.
// dlib's object detector keeps scratch state, so every call takes the models' mutex.
#include "CDlibFace.h"

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#include <dlib/serialize.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

struct mp_face_models {
    dlib::frontal_face_detector detector;
    dlib::shape_predictor predictor;
    std::mutex lock;
};

static void copy_image(const uint8_t *rgb, int width, int height, int stride,
                       dlib::array2d<dlib::rgb_pixel> &out) {
    out.set_size(height, width);
    for (int y = 0; y < height; ++y) {
        const uint8_t *row = rgb + (size_t)y * (size_t)stride;
        for (int x = 0; x < width; ++x) {
            out[y][x] = dlib::rgb_pixel(row[3 * x], row[3 * x + 1], row[3 * x + 2]);
        }
    }
}

extern "C" mp_face_models *mp_face_models_load(const char *predictor_path, char *error, int error_length) {
    try {
        auto *models = new mp_face_models();
        models->detector = dlib::get_frontal_face_detector();
        dlib::deserialize(predictor_path) >> models->predictor;
        return models;
    } catch (const std::exception &e) {
        if (error && error_length > 0) {
            std::strncpy(error, e.what(), (size_t)error_length - 1);
            error[error_length - 1] = 0;
        }
        return nullptr;
    }
}

extern "C" void mp_face_models_free(mp_face_models *models) { delete models; }

extern "C" int mp_detect_faces(mp_face_models *models, const uint8_t *rgb, int width, int height, int stride,
                               int upsample, double adjust_threshold, mp_face_box *boxes, int capacity) {
    try {
        dlib::array2d<dlib::rgb_pixel> image;
        copy_image(rgb, width, height, stride, image);
        double scale = 1.0;
        for (int i = 0; i < upsample; ++i) {
            dlib::pyramid_up(image);
            scale *= 2.0;
        }
        std::vector<dlib::rect_detection> found;
        {
            std::lock_guard<std::mutex> guard(models->lock);
            models->detector(image, found, adjust_threshold);
        }
        std::sort(found.begin(), found.end(),
                  [](const dlib::rect_detection &a, const dlib::rect_detection &b) {
                      return a.detection_confidence > b.detection_confidence;
                  });
        int n = (int)found.size();
        for (int i = 0; i < n && i < capacity; ++i) {
            const auto &r = found[(size_t)i].rect;
            boxes[i].left = r.left() / scale;
            boxes[i].top = r.top() / scale;
            boxes[i].right = (r.right() + 1) / scale;
            boxes[i].bottom = (r.bottom() + 1) / scale;
            boxes[i].score = found[(size_t)i].detection_confidence;
        }
        return n;
    } catch (...) {
        return -1;
    }
}

extern "C" int mp_face_landmarks(mp_face_models *models, const uint8_t *rgb, int width, int height, int stride,
                                 mp_face_box box, double *points) {
    try {
        dlib::array2d<dlib::rgb_pixel> image;
        copy_image(rgb, width, height, stride, image);
        dlib::rectangle rect((long)box.left, (long)box.top, (long)box.right - 1, (long)box.bottom - 1);
        dlib::full_object_detection shape;
        {
            std::lock_guard<std::mutex> guard(models->lock);
            shape = models->predictor(image, rect);
        }
        if (shape.num_parts() != 68) return -1;
        for (unsigned long i = 0; i < 68; ++i) {
            points[2 * i] = (double)shape.part(i).x();
            points[2 * i + 1] = (double)shape.part(i).y();
        }
        return 0;
    } catch (...) {
        return -1;
    }
}
