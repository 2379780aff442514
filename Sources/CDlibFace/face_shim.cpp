// The only C++ in Mouthpiece: wraps dlib's detector and shape predictor behind a C header.
// dlib's object detector keeps scratch state, so every call takes the models' mutex.
#include "CDlibFace.h"

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#include <dlib/serialize.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <string>
#include <thread>
#include <stdexcept>
#include <vector>


// dlib's own deserializer reads the 99 MB predictor one byte at a time through an istream and
// takes most of a second. This reader parses the same format (dlib's serialize.h: integers as a
// size byte and little-endian bytes, floats as mantissa and exponent, vectors and matrices with
// their sizes first) from a buffered file and builds the predictor through its public
// constructor. Any surprise in the file throws, and the caller falls back to dlib's reader.
namespace {
class FastReader {
  public:
    explicit FastReader(const char *path) : file_(std::fopen(path, "rb")) {
        if (!file_) throw std::runtime_error(std::string("cannot open ") + path);
    }
    ~FastReader() {
        if (file_) std::fclose(file_);
    }

    int64_t signed_int() {
        unsigned char size = byte();
        bool negative = size & 0x80;
        size &= 0x0F;
        if (size == 0 || size > 8) throw std::runtime_error("bad integer");
        uint64_t value = bytes(size);
        return negative ? -(int64_t)value : (int64_t)value;
    }

    uint64_t unsigned_int() {
        unsigned char size = byte() & 0x8F;
        if (size == 0 || size > 8) throw std::runtime_error("bad unsigned integer");
        return bytes(size);
    }

    float real() {
        if ((peek() & 0x70) != 0) throw std::runtime_error("old float format");
        int64_t mantissa = signed_int();
        int64_t exponent = signed_int();
        if (exponent < 32000) return std::ldexp((float)mantissa, (int)exponent);
        if (exponent == 32000) return std::numeric_limits<float>::infinity();
        if (exponent == 32001) return -std::numeric_limits<float>::infinity();
        return std::numeric_limits<float>::quiet_NaN();
    }

    dlib::matrix<float, 0, 1> column() {
        int64_t rows = signed_int(), cols = signed_int();
        if (rows < 0) rows = -rows;
        if (cols < 0) cols = -cols;
        if (cols != 1) throw std::runtime_error("expected a column vector");
        dlib::matrix<float, 0, 1> m((long)rows);
        for (long r = 0; r < (long)rows; ++r) m(r) = real();
        return m;
    }

    size_t count() {
        uint64_t n = unsigned_int();
        if (n > (1u << 28)) throw std::runtime_error("implausible size");
        return (size_t)n;
    }

  private:
    std::FILE *file_;
    unsigned char buffer_[1 << 16];
    size_t position_ = 0, filled_ = 0;

    void refill() {
        filled_ = std::fread(buffer_, 1, sizeof buffer_, file_);
        position_ = 0;
        if (filled_ == 0) throw std::runtime_error("unexpected end of file");
    }
    unsigned char peek() {
        if (position_ == filled_) refill();
        return buffer_[position_];
    }
    unsigned char byte() {
        if (position_ == filled_) refill();
        return buffer_[position_++];
    }
    uint64_t bytes(unsigned size) {
        uint64_t value = 0;
        for (unsigned i = 0; i < size; ++i) value |= (uint64_t)byte() << (8 * i);
        return value;
    }
};

// What dlib's shape_predictor constructor takes: the mean shape, the forests and the feature
// pixels in shape coordinates. Kept apart so that the cache can be written from them.
struct PredictorParts {
    dlib::matrix<float, 0, 1> initial_shape;
    std::vector<std::vector<dlib::impl::regression_tree>> forests;
    std::vector<std::vector<dlib::vector<float, 2>>> pixels;

    dlib::shape_predictor make() const { return dlib::shape_predictor(initial_shape, forests, pixels); }
};

PredictorParts read_predictor_fast(const char *path) {
    FastReader in(path);
    PredictorParts parts;
    if (in.signed_int() != 1) throw std::runtime_error("unexpected shape_predictor version");
    parts.initial_shape = in.column();
    const auto &initial_shape = parts.initial_shape;
    auto &forests = parts.forests;
    forests.resize(in.count());
    for (auto &forest : forests) {
        forest.resize(in.count());
        for (auto &tree : forest) {
            tree.splits.resize(in.count());
            for (auto &split : tree.splits) {
                split.idx1 = (unsigned long)in.unsigned_int();
                split.idx2 = (unsigned long)in.unsigned_int();
                split.thresh = in.real();
            }
            tree.leaf_values.resize(in.count());
            for (auto &leaf : tree.leaf_values) leaf = in.column();
        }
    }
    std::vector<std::vector<unsigned long>> anchors(in.count());
    for (auto &cascade : anchors) {
        cascade.resize(in.count());
        for (auto &a : cascade) a = (unsigned long)in.unsigned_int();
    }
    size_t cascades = in.count();
    if (cascades != anchors.size() || cascades != forests.size()) throw std::runtime_error("inconsistent cascades");
    // The public constructor takes feature pixels in shape coordinates and derives each one's
    // anchor (nearest landmark) and offset again; the file stores anchor and offset.
    auto &pixels = parts.pixels;
    pixels.resize(cascades);
    for (size_t i = 0; i < cascades; ++i) {
        size_t n = in.count();
        if (n != anchors[i].size()) throw std::runtime_error("inconsistent deltas");
        pixels[i].resize(n);
        for (size_t j = 0; j < n; ++j) {
            float dx = in.real(), dy = in.real();
            unsigned long a = anchors[i][j];
            if (2 * a + 1 >= (unsigned long)initial_shape.size()) throw std::runtime_error("bad anchor");
            pixels[i][j] = dlib::vector<float, 2>(initial_shape(2 * a) + dx, initial_shape(2 * a + 1) + dy);
        }
    }
    return parts;
}

// The cache: both models in a form that loads at the speed of reading the file. The detector as
// dlib serialises it (uncompressed: dlib's built-in copy is compressed and takes most of a second
// to unpack), the predictor's parts as raw native integers and floats. It names the predictor
// file it was made from (path, size, modification time) and ends with a mark, so that a stale,
// foreign or truncated cache is never used; it is written to a temporary name and renamed.
const char cache_magic[8] = {'M', 'P', 'F', 'A', 'C', 'E', 'C', '1'};
const char cache_end[8] = {'M', 'P', 'F', 'A', 'C', 'E', 'N', 'D'};

std::string source_key(const char *predictor_path) {
    struct stat info;
    if (stat(predictor_path, &info) != 0) throw std::runtime_error("cannot stat the predictor");
    return std::string(predictor_path) + "|" + std::to_string((long long)info.st_size) + "|" +
           std::to_string((long long)info.st_mtim.tv_sec) + "." + std::to_string((long long)info.st_mtim.tv_nsec);
}

class CacheFile {
  public:
    CacheFile(std::FILE *file) : file_(file) {
        if (!file_) throw std::runtime_error("cannot open the cache");
        std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
    }
    CacheFile(const char *path, const char *mode) : file_(std::fopen(path, mode)) {
        if (!file_) throw std::runtime_error("cannot open the cache");
        // A large buffer: the file is read in a few hundred calls, not tens of thousands.
        std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
    }
    ~CacheFile() {
        if (file_) std::fclose(file_);
    }
    bool close() {
        bool ok = std::fclose(file_) == 0;
        file_ = nullptr;
        return ok;
    }

    void put(const void *data, size_t size) {
        if (size && std::fwrite(data, 1, size, file_) != size) throw std::runtime_error("cannot write the cache");
    }
    void put32(uint32_t value) { put(&value, 4); }
    void put_floats(const float *values, size_t n) { put(values, n * sizeof(float)); }

    void get(void *data, size_t size) {
        if (size && std::fread(data, 1, size, file_) != size) throw std::runtime_error("the cache is truncated");
    }
    uint32_t get32(uint32_t limit) {
        uint32_t value;
        get(&value, 4);
        if (value > limit) throw std::runtime_error("implausible size in the cache");
        return value;
    }
    void get_floats(float *values, size_t n) { get(values, n * sizeof(float)); }

  private:
    std::FILE *file_;
};

void write_cache(const char *cache_path, const std::string &key, const dlib::frontal_face_detector &detector,
                 const PredictorParts &parts) {
    std::ostringstream serialized;
    dlib::serialize(detector, serialized);
    const std::string detector_bytes = serialized.str();
    // A name of its own for every writer (two loads at once, in one process or several).
    std::string temporary = std::string(cache_path) + ".tmp.XXXXXX";
    int descriptor = mkstemp(&temporary[0]);
    if (descriptor < 0) throw std::runtime_error("cannot create the cache");
    std::FILE *stream = fdopen(descriptor, "wb");
    if (!stream) {
        close(descriptor);
        std::remove(temporary.c_str());
        throw std::runtime_error("cannot create the cache");
    }
    try {
        CacheFile out(stream);
        out.put(cache_magic, 8);
        out.put32((uint32_t)key.size());
        out.put(key.data(), key.size());
        out.put32((uint32_t)detector_bytes.size());
        out.put(detector_bytes.data(), detector_bytes.size());
        out.put32((uint32_t)parts.initial_shape.size());
        out.put_floats(&parts.initial_shape(0), (size_t)parts.initial_shape.size());
        out.put32((uint32_t)parts.forests.size());
        for (const auto &forest : parts.forests) {
            out.put32((uint32_t)forest.size());
            for (const auto &tree : forest) {
                out.put32((uint32_t)tree.splits.size());
                for (const auto &split : tree.splits) {
                    out.put32((uint32_t)split.idx1);
                    out.put32((uint32_t)split.idx2);
                    out.put_floats(&split.thresh, 1);
                }
                out.put32((uint32_t)tree.leaf_values.size());
                for (const auto &leaf : tree.leaf_values) {
                    out.put32((uint32_t)leaf.size());
                    if (leaf.size() > 0) out.put_floats(&leaf(0), (size_t)leaf.size());
                }
            }
        }
        for (const auto &cascade : parts.pixels) {
            out.put32((uint32_t)cascade.size());
            for (const auto &p : cascade) {
                float xy[2] = {p.x(), p.y()};
                out.put_floats(xy, 2);
            }
        }
        out.put(cache_end, 8);
        if (!out.close()) throw std::runtime_error("cannot write the cache");
        if (std::rename(temporary.c_str(), cache_path) != 0) throw std::runtime_error("cannot rename the cache");
    } catch (...) {
        std::remove(temporary.c_str());
        throw;
    }
}

// Reads the cache; false (and nothing changed) when it is missing or made from another file.
bool read_cache(const char *cache_path, const std::string &key, dlib::frontal_face_detector &detector,
                PredictorParts &parts) {
    std::FILE *probe = std::fopen(cache_path, "rb");
    if (!probe) return false;
    std::fclose(probe);
    CacheFile in(cache_path, "rb");
    char magic[8];
    in.get(magic, 8);
    if (std::memcmp(magic, cache_magic, 8) != 0) return false;
    std::string stored(in.get32(1 << 16), '\0');
    in.get(&stored[0], stored.size());
    if (stored != key) return false;
    std::string detector_bytes(in.get32(1 << 28), '\0');
    in.get(&detector_bytes[0], detector_bytes.size());
    PredictorParts read;
    read.initial_shape.set_size(in.get32(1 << 16));
    in.get_floats(&read.initial_shape(0), (size_t)read.initial_shape.size());
    read.forests.resize(in.get32(1 << 10));
    for (auto &forest : read.forests) {
        forest.resize(in.get32(1 << 16));
        for (auto &tree : forest) {
            tree.splits.resize(in.get32(1 << 16));
            for (auto &split : tree.splits) {
                split.idx1 = in.get32(1 << 20);
                split.idx2 = in.get32(1 << 20);
                in.get_floats(&split.thresh, 1);
            }
            tree.leaf_values.resize(in.get32(1 << 16));
            for (auto &leaf : tree.leaf_values) {
                leaf.set_size(in.get32(1 << 16));
                if (leaf.size() > 0) in.get_floats(&leaf(0), (size_t)leaf.size());
            }
        }
    }
    read.pixels.resize(read.forests.size());
    for (auto &cascade : read.pixels) {
        cascade.resize(in.get32(1 << 20));
        for (auto &p : cascade) {
            float xy[2];
            in.get_floats(xy, 2);
            p = dlib::vector<float, 2>(xy[0], xy[1]);
        }
    }
    char end[8];
    in.get(end, 8);
    if (std::memcmp(end, cache_end, 8) != 0) throw std::runtime_error("the cache does not end where it should");
    // The shapes dlib relies on without checking (a file damaged in place must not make it read
    // out of bounds): a shape of x, y pairs, leaves of that size, one more leaf than splits per
    // tree, split pixels within their cascade's.
    const long shape_size = read.initial_shape.size();
    if (shape_size < 2 || shape_size % 2 != 0 || read.forests.empty()) throw std::runtime_error("the cache's shape is wrong");
    for (size_t c = 0; c < read.forests.size(); ++c) {
        const size_t pixels = read.pixels[c].size();
        for (const auto &tree : read.forests[c]) {
            if (tree.leaf_values.size() != tree.splits.size() + 1) throw std::runtime_error("the cache's tree is wrong");
            for (const auto &split : tree.splits) {
                if (split.idx1 >= pixels || split.idx2 >= pixels) throw std::runtime_error("the cache's split is wrong");
            }
            for (const auto &leaf : tree.leaf_values) {
                if (leaf.size() != shape_size) throw std::runtime_error("the cache's leaf is wrong");
            }
        }
    }
    std::istringstream serialized(detector_bytes);
    dlib::frontal_face_detector loaded;
    dlib::deserialize(loaded, serialized);
    detector = loaded;
    parts = std::move(read);
    return true;
}
}  // namespace

struct mp_face_models {
    dlib::frontal_face_detector detector;
    dlib::shape_predictor predictor;
    std::mutex lock;
    int source = 0;  // 0: dlib's reader, 1: the fast reader, 2: the cache
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

extern "C" mp_face_models *mp_face_models_load(const char *predictor_path, int fast, const char *cache_path,
                                               char *error, int error_length) {
    auto *models = new mp_face_models();
    try {
        std::string key;
        if (cache_path && fast) {
            key = source_key(predictor_path);
            try {
                PredictorParts parts;
                if (read_cache(cache_path, key, models->detector, parts)) {
                    models->predictor = parts.make();
                    models->source = 2;
                    return models;
                }
            } catch (const std::exception &) {
                // A damaged cache is rebuilt below.
            }
        }
        // The detector is unpacked from dlib's built-in data while the predictor file is read:
        // the two take about the same time, so loading in parallel halves the start-up cost.
        std::string detector_error;
        std::thread detector_thread([&]() {
            try {
                models->detector = dlib::get_frontal_face_detector();
            } catch (const std::exception &e) {
                detector_error = e.what();
            }
        });
        PredictorParts parts;
        try {
            if (fast) {
                try {
                    parts = read_predictor_fast(predictor_path);
                    models->predictor = parts.make();
                    models->source = 1;
                } catch (const std::exception &) {
                    parts = PredictorParts();
                    dlib::deserialize(predictor_path) >> models->predictor;
                }
            } else {
                dlib::deserialize(predictor_path) >> models->predictor;
            }
        } catch (...) {
            detector_thread.join();
            throw;
        }
        detector_thread.join();
        if (!detector_error.empty()) throw std::runtime_error(detector_error);
        if (!key.empty() && models->source == 1) {
            try {
                write_cache(cache_path, key, models->detector, parts);
            } catch (const std::exception &) {
                // No cache this time (a read-only or full disk): the models are loaded all the same.
            }
        }
        return models;
    } catch (const std::exception &e) {
        delete models;
        if (error && error_length > 0) {
            std::strncpy(error, e.what(), (size_t)error_length - 1);
            error[error_length - 1] = 0;
        }
        return nullptr;
    }
}

extern "C" void mp_face_models_free(mp_face_models *models) { delete models; }

extern "C" int mp_face_models_source(const mp_face_models *models) { return models->source; }

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
